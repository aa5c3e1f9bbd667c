ALTER TABLE `sessions` ADD `turn_lease_id` text;--> statement-breakpoint
ALTER TABLE `sessions` ADD `turn_lease_until` integer;