CREATE TABLE "replay_jobs" (
	"id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"webhook_id" text COLLATE "C" NOT NULL,
	"tenant_id" text COLLATE "C" NOT NULL,
	"since" bigint NOT NULL,
	"until" bigint NOT NULL,
	"event_types" text,
	"status" text NOT NULL,
	"matched" integer DEFAULT 0 NOT NULL,
	"created" integer DEFAULT 0 NOT NULL,
	"skipped" integer DEFAULT 0 NOT NULL,
	"cursor_created_at" bigint,
	"cursor_id" text COLLATE "C",
	"error" text,
	"started_at" bigint NOT NULL,
	"finished_at" bigint,
	"lease_holder" text,
	"lease_expires_at" bigint
);
--> statement-breakpoint
ALTER TABLE "replay_jobs" ADD CONSTRAINT "replay_jobs_webhook_id_webhooks_id_fk" FOREIGN KEY ("webhook_id") REFERENCES "public"."webhooks"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "replay_jobs_running_idx" ON "replay_jobs" USING btree ("webhook_id") WHERE status = 'running';