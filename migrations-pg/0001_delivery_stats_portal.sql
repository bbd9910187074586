CREATE TABLE "attempt_stats" (
	"webhook_id" text COLLATE "C" NOT NULL,
	"tenant_id" text COLLATE "C" NOT NULL,
	"minute" bigint NOT NULL,
	"bin" integer NOT NULL,
	"succeeded" integer DEFAULT 0 NOT NULL,
	"retried" integer DEFAULT 0 NOT NULL,
	"failed" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "attempt_stats_webhook_id_minute_bin_pk" PRIMARY KEY("webhook_id","minute","bin")
);
--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "kind" text DEFAULT 'key' NOT NULL;--> statement-breakpoint
ALTER TABLE "attempt_stats" ADD CONSTRAINT "attempt_stats_webhook_id_webhooks_id_fk" FOREIGN KEY ("webhook_id") REFERENCES "public"."webhooks"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "attempt_stats_tenant_idx" ON "attempt_stats" USING btree ("tenant_id","minute");--> statement-breakpoint
CREATE INDEX "attempt_stats_minute_idx" ON "attempt_stats" USING btree ("minute");