CREATE TABLE `memories` (
	`id` text PRIMARY KEY NOT NULL,
	`resource_id` text NOT NULL,
	`scope` text NOT NULL,
	`session_id` text,
	`text` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`session_id`) REFERENCES `sessions`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `memories_resource_session` ON `memories` (`resource_id`,`session_id`);--> statement-breakpoint
CREATE INDEX `memories_session` ON `memories` (`session_id`);