CREATE TABLE `attempt_stats` (
	`webhook_id` text NOT NULL,
	`tenant_id` text NOT NULL,
	`minute` integer NOT NULL,
	`bin` integer NOT NULL,
	`succeeded` integer DEFAULT 0 NOT NULL,
	`retried` integer DEFAULT 0 NOT NULL,
	`failed` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`webhook_id`, `minute`, `bin`),
	FOREIGN KEY (`webhook_id`) REFERENCES `webhooks`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `attempt_stats_tenant_idx` ON `attempt_stats` (`tenant_id`,`minute`);--> statement-breakpoint
CREATE INDEX `attempt_stats_minute_idx` ON `attempt_stats` (`minute`);--> statement-breakpoint
ALTER TABLE `api_keys` ADD `kind` text DEFAULT 'key' NOT NULL;