CREATE TABLE `repo_cache` (
	`resource_key` text PRIMARY KEY NOT NULL,
	`url` text NOT NULL,
	`ref` text,
	`search_path` text,
	`local_path` text NOT NULL,
	`commit` text NOT NULL,
	`cloned_at` integer NOT NULL,
	`last_updated` integer NOT NULL,
	`last_accessed` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `repo_cache_last_accessed` ON `repo_cache` (`last_accessed`);--> statement-breakpoint
CREATE TABLE `sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`resource_id` text NOT NULL,
	`title` text,
	`created_at` integer NOT NULL,
	`last_accessed` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `sessions_resource_recent` ON `sessions` (`resource_id`,`last_accessed`,`id`);--> statement-breakpoint
CREATE INDEX `sessions_last_accessed` ON `sessions` (`last_accessed`);--> statement-breakpoint
CREATE TABLE `tool_sessions` (
	`tool_session_id` text PRIMARY KEY NOT NULL,
	`session_id` text NOT NULL,
	`tool_name` text NOT NULL,
	`tool_key` text,
	`tool_key_norm` text GENERATED ALWAYS AS (CASE WHEN tool_key IS NULL THEN X'00' ELSE tool_key END) VIRTUAL,
	`state` text DEFAULT '{}' NOT NULL,
	`state_version` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`last_accessed` integer NOT NULL,
	FOREIGN KEY (`session_id`) REFERENCES `sessions`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `tool_sessions_session_tool_key` ON `tool_sessions` (`session_id`,`tool_name`,`tool_key_norm`);