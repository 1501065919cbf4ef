DROP INDEX "governor_event_name_idx";--> statement-breakpoint
DROP INDEX "registry_event_name_idx";--> statement-breakpoint
DROP INDEX "timelock_event_name_idx";--> statement-breakpoint
DROP INDEX "token_event_name_idx";