CREATE TABLE `resource_versions` (
	`resource_id` text PRIMARY KEY NOT NULL,
	`version` integer NOT NULL
);
