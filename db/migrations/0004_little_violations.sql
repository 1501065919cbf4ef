ALTER TABLE "proposal" ADD COLUMN "timelock_id" text;--> statement-breakpoint
CREATE INDEX "proposal_timelock_idx" ON "proposal" USING btree ("chain_id","timelock_id");