DROP INDEX "governor_event_block_idx";--> statement-breakpoint
DROP INDEX "registry_event_block_idx";--> statement-breakpoint
DROP INDEX "timelock_event_block_idx";--> statement-breakpoint
DROP INDEX "token_event_block_idx";--> statement-breakpoint
ALTER TABLE "governor_event" DROP CONSTRAINT "governor_event_chain_id_tx_hash_log_index_pk";--> statement-breakpoint
ALTER TABLE "registry_event" DROP CONSTRAINT "registry_event_chain_id_tx_hash_log_index_pk";--> statement-breakpoint
ALTER TABLE "timelock_event" DROP CONSTRAINT "timelock_event_chain_id_tx_hash_log_index_pk";--> statement-breakpoint
ALTER TABLE "token_event" DROP CONSTRAINT "token_event_chain_id_tx_hash_log_index_pk";--> statement-breakpoint
ALTER TABLE "governor_event" ADD CONSTRAINT "governor_event_chain_id_block_number_log_index_pk" PRIMARY KEY("chain_id","block_number","log_index");--> statement-breakpoint
ALTER TABLE "registry_event" ADD CONSTRAINT "registry_event_chain_id_block_number_log_index_pk" PRIMARY KEY("chain_id","block_number","log_index");--> statement-breakpoint
ALTER TABLE "timelock_event" ADD CONSTRAINT "timelock_event_chain_id_block_number_log_index_pk" PRIMARY KEY("chain_id","block_number","log_index");--> statement-breakpoint
ALTER TABLE "token_event" ADD CONSTRAINT "token_event_chain_id_block_number_log_index_pk" PRIMARY KEY("chain_id","block_number","log_index");