DROP INDEX `deliveries_due_idx`;--> statement-breakpoint
DROP INDEX `deliveries_webhook_due_idx`;--> statement-breakpoint
CREATE INDEX `deliveries_lease_idx` ON `deliveries` (`lease_expires_at`) WHERE status = 'delivering';--> statement-breakpoint
CREATE INDEX `deliveries_failed_idx` ON `deliveries` (`webhook_id`,`id`) WHERE status = 'failed';--> statement-breakpoint
CREATE INDEX `deliveries_due_idx` ON `deliveries` (`next_attempt_at`) WHERE status = 'pending';--> statement-breakpoint
CREATE INDEX `deliveries_webhook_due_idx` ON `deliveries` (`webhook_id`,`next_attempt_at`) WHERE status = 'pending';