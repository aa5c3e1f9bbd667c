CREATE TABLE `usage_daily` (
	`resource_id` text NOT NULL,
	`day` text NOT NULL,
	`model` text NOT NULL,
	`turns` integer DEFAULT 0 NOT NULL,
	`input_tokens` integer DEFAULT 0 NOT NULL,
	`output_tokens` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`resource_id`, `day`, `model`)
);
