ALTER TABLE "event_types" ADD COLUMN "payload_format" text;--> statement-breakpoint
ALTER TABLE "events" ADD COLUMN "payload_format" text DEFAULT 'envelope' NOT NULL;