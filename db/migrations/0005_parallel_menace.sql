ALTER TABLE "model_version" ADD COLUMN "current_from_tx" text;--> statement-breakpoint
ALTER TABLE "model_version" ADD COLUMN "current_to_tx" text;