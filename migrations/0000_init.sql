CREATE TABLE `applications` (
	`id` text PRIMARY KEY NOT NULL,
	`push_application_id` text NOT NULL,
	`name` text NOT NULL,
	`description` text,
	`developer` text,
	`master_secret_hash` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `applications_push_application_id_unique` ON `applications` (`push_application_id`);--> statement-breakpoint
CREATE TABLE `applied_batches` (
	`batch_id` text PRIMARY KEY NOT NULL,
	`job_id` text NOT NULL,
	`applied_at` integer NOT NULL,
	FOREIGN KEY (`job_id`) REFERENCES `push_jobs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `applied_batches_job_idx` ON `applied_batches` (`job_id`);--> statement-breakpoint
CREATE TABLE `categories` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `categories_name_unique` ON `categories` (`name`);--> statement-breakpoint
CREATE TABLE `idempotency_keys` (
	`application_id` text NOT NULL,
	`key` text NOT NULL,
	`job_id` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`application_id`, `key`),
	FOREIGN KEY (`application_id`) REFERENCES `applications`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `idempotency_keys_created_idx` ON `idempotency_keys` (`created_at`);--> statement-breakpoint
CREATE TABLE `installation_categories` (
	`installation_id` text NOT NULL,
	`category_id` integer NOT NULL,
	PRIMARY KEY(`installation_id`, `category_id`),
	FOREIGN KEY (`installation_id`) REFERENCES `installations`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`category_id`) REFERENCES `categories`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `installation_categories_category_idx` ON `installation_categories` (`category_id`,`installation_id`);--> statement-breakpoint
CREATE TABLE `installations` (
	`id` text PRIMARY KEY NOT NULL,
	`variant_id` text NOT NULL,
	`device_token` text NOT NULL,
	`token_key` text NOT NULL,
	`alias` text,
	`device_type` text,
	`operating_system` text,
	`os_version` text,
	`platform` text,
	`enabled` integer DEFAULT true NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`variant_id`) REFERENCES `variants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `installations_variant_token_uq` ON `installations` (`variant_id`,`token_key`);--> statement-breakpoint
CREATE INDEX `installations_audience_idx` ON `installations` (`variant_id`,`enabled`,`id`);--> statement-breakpoint
CREATE INDEX `installations_alias_idx` ON `installations` (`variant_id`,`alias`);--> statement-breakpoint
CREATE INDEX `installations_device_type_idx` ON `installations` (`variant_id`,`device_type`);--> statement-breakpoint
CREATE TABLE `job_reasons` (
	`job_id` text NOT NULL,
	`variant_id` text NOT NULL,
	`reason` text NOT NULL,
	`count` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`job_id`, `variant_id`, `reason`),
	FOREIGN KEY (`job_id`) REFERENCES `push_jobs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `job_variants` (
	`job_id` text NOT NULL,
	`variant_id` text NOT NULL,
	`receivers` integer DEFAULT 0 NOT NULL,
	`delivered` integer DEFAULT 0 NOT NULL,
	`failed` integer DEFAULT 0 NOT NULL,
	`invalid_tokens` integer DEFAULT 0 NOT NULL,
	`pending` integer DEFAULT 0 NOT NULL,
	`planned` integer DEFAULT false NOT NULL,
	`plan_cursor` text,
	`reason` text,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`job_id`, `variant_id`),
	FOREIGN KEY (`job_id`) REFERENCES `push_jobs`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`variant_id`) REFERENCES `variants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `provider_tokens` (
	`key` text PRIMARY KEY NOT NULL,
	`token_sealed` text NOT NULL,
	`issued_at` integer NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `push_jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`application_id` text NOT NULL,
	`raw_json_message` text NOT NULL,
	`payload` text,
	`ip_address` text,
	`client_identifier` text,
	`submit_date` integer NOT NULL,
	`total_receivers` integer DEFAULT 0 NOT NULL,
	`app_open_counter` integer DEFAULT 0 NOT NULL,
	`first_open_date` integer,
	`last_open_date` integer,
	`status` text DEFAULT 'queued' NOT NULL,
	FOREIGN KEY (`application_id`) REFERENCES `applications`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `push_jobs_application_idx` ON `push_jobs` (`application_id`,`submit_date`);--> statement-breakpoint
CREATE INDEX `push_jobs_submit_idx` ON `push_jobs` (`submit_date`);--> statement-breakpoint
CREATE TABLE `variants` (
	`id` text PRIMARY KEY NOT NULL,
	`variant_id` text NOT NULL,
	`application_id` text NOT NULL,
	`type` text NOT NULL,
	`name` text NOT NULL,
	`description` text,
	`developer` text,
	`secret_sealed` text NOT NULL,
	`settings` text NOT NULL,
	`credentials_sealed` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`application_id`) REFERENCES `applications`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `variants_variant_id_unique` ON `variants` (`variant_id`);--> statement-breakpoint
CREATE INDEX `variants_application_idx` ON `variants` (`application_id`,`type`);