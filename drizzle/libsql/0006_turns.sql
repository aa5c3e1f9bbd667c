CREATE TABLE `turn_chunks` (
	`turn_id` text NOT NULL,
	`seq` integer NOT NULL,
	`chunks` text NOT NULL,
	PRIMARY KEY(`turn_id`, `seq`),
	FOREIGN KEY (`turn_id`) REFERENCES `turns`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `turns` (
	`id` text PRIMARY KEY NOT NULL,
	`session_id` text NOT NULL,
	`resource_id` text NOT NULL,
	`chat_id` text,
	`user_message_id` text NOT NULL,
	`assistant_message_id` text NOT NULL,
	`model` text NOT NULL,
	`lease_id` text NOT NULL,
	`owner` text NOT NULL,
	`status` text NOT NULL,
	`stop_requested` integer DEFAULT false NOT NULL,
	`started_at` integer NOT NULL,
	`ended_at` integer,
	FOREIGN KEY (`session_id`) REFERENCES `sessions`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `turns_session_status` ON `turns` (`session_id`,`status`);--> statement-breakpoint
CREATE INDEX `turns_resource_chat` ON `turns` (`resource_id`,`chat_id`);--> statement-breakpoint
CREATE INDEX `turns_status_ended` ON `turns` (`status`,`ended_at`);