ALTER TABLE `deliveries` ADD `retry_base` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `deliveries` ADD `retry_started_at` integer;