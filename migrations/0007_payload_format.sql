ALTER TABLE `event_types` ADD `payload_format` text;--> statement-breakpoint
ALTER TABLE `events` ADD `payload_format` text DEFAULT 'envelope' NOT NULL;