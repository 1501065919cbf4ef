CREATE TABLE "access_nonce" (
	"chain_id" integer NOT NULL,
	"registry" text NOT NULL,
	"account" text NOT NULL,
	"nonce" text NOT NULL,
	"model_id" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"used_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "access_nonce_chain_id_registry_account_nonce_pk" PRIMARY KEY("chain_id","registry","account","nonce")
);
--> statement-breakpoint
CREATE TABLE "delegate" (
	"chain_id" integer NOT NULL,
	"address" text NOT NULL,
	"voting_power" numeric(78, 0) NOT NULL,
	"delegator_count" integer NOT NULL,
	"votes_cast" integer NOT NULL,
	"updated_at_block" bigint NOT NULL,
	CONSTRAINT "delegate_chain_id_address_pk" PRIMARY KEY("chain_id","address")
);
--> statement-breakpoint
CREATE TABLE "delegation" (
	"chain_id" integer NOT NULL,
	"delegator" text NOT NULL,
	"delegatee" text NOT NULL,
	"updated_at_block" bigint NOT NULL,
	CONSTRAINT "delegation_chain_id_delegator_pk" PRIMARY KEY("chain_id","delegator")
);
--> statement-breakpoint
CREATE TABLE "governor_event" (
	"chain_id" integer NOT NULL,
	"tx_hash" text NOT NULL,
	"log_index" integer NOT NULL,
	"block_number" bigint NOT NULL,
	"block_hash" text NOT NULL,
	"block_time" timestamp with time zone NOT NULL,
	"address" text NOT NULL,
	"event_name" text NOT NULL,
	"args" jsonb NOT NULL,
	CONSTRAINT "governor_event_chain_id_tx_hash_log_index_pk" PRIMARY KEY("chain_id","tx_hash","log_index")
);
--> statement-breakpoint
CREATE TABLE "governor_settings" (
	"chain_id" integer PRIMARY KEY NOT NULL,
	"voting_delay" bigint,
	"voting_period" bigint,
	"proposal_threshold" numeric(78, 0),
	"quorum_numerator" numeric(78, 0),
	"late_quorum_vote_extension" bigint,
	"timelock" text,
	"proposal_guardian" text,
	"timelock_min_delay" bigint,
	"updated_at_block" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "indexer_block" (
	"chain_id" integer NOT NULL,
	"block_number" bigint NOT NULL,
	"block_hash" text NOT NULL,
	"parent_hash" text NOT NULL,
	"block_time" timestamp with time zone NOT NULL,
	CONSTRAINT "indexer_block_chain_id_block_number_pk" PRIMARY KEY("chain_id","block_number")
);
--> statement-breakpoint
CREATE TABLE "indexer_checkpoint" (
	"chain_id" integer PRIMARY KEY NOT NULL,
	"block_number" bigint NOT NULL,
	"block_hash" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "model" (
	"chain_id" integer NOT NULL,
	"model_id" numeric(78, 0) NOT NULL,
	"slug" text NOT NULL,
	"access_kind" text NOT NULL,
	"access_token" text NOT NULL,
	"access_min_balance" numeric(78, 0) NOT NULL,
	"current_version" integer NOT NULL,
	"version_count" integer NOT NULL,
	"registered_at_block" bigint NOT NULL,
	"registered_at" timestamp with time zone NOT NULL,
	"registered_tx" text NOT NULL,
	"updated_at_block" bigint NOT NULL,
	CONSTRAINT "model_chain_id_model_id_pk" PRIMARY KEY("chain_id","model_id")
);
--> statement-breakpoint
CREATE TABLE "model_allowlist" (
	"chain_id" integer NOT NULL,
	"model_id" numeric(78, 0) NOT NULL,
	"account" text NOT NULL,
	"allowed" boolean NOT NULL,
	"updated_at_block" bigint NOT NULL,
	CONSTRAINT "model_allowlist_chain_id_model_id_account_pk" PRIMARY KEY("chain_id","model_id","account")
);
--> statement-breakpoint
CREATE TABLE "model_version" (
	"chain_id" integer NOT NULL,
	"model_id" numeric(78, 0) NOT NULL,
	"version" integer NOT NULL,
	"manifest_digest" text NOT NULL,
	"parent_version" integer NOT NULL,
	"published_at" timestamp with time zone NOT NULL,
	"published_block" bigint NOT NULL,
	"published_tx" text NOT NULL,
	"status" text NOT NULL,
	"status_changed_block" bigint,
	"status_changed_at" timestamp with time zone,
	"status_changed_tx" text,
	"status_changed_by" text,
	"current_from_block" bigint,
	"current_from" timestamp with time zone,
	"current_to_block" bigint,
	"current_to" timestamp with time zone,
	CONSTRAINT "model_version_chain_id_model_id_version_pk" PRIMARY KEY("chain_id","model_id","version")
);
--> statement-breakpoint
CREATE TABLE "proposal" (
	"chain_id" integer NOT NULL,
	"proposal_id" numeric(78, 0) NOT NULL,
	"proposer" text NOT NULL,
	"targets" jsonb NOT NULL,
	"values" jsonb NOT NULL,
	"calldatas" jsonb NOT NULL,
	"signatures" jsonb NOT NULL,
	"description" text NOT NULL,
	"description_hash" text NOT NULL,
	"vote_start" timestamp with time zone NOT NULL,
	"vote_end" timestamp with time zone NOT NULL,
	"extended_deadline" timestamp with time zone,
	"for_votes" numeric(78, 0) NOT NULL,
	"against_votes" numeric(78, 0) NOT NULL,
	"abstain_votes" numeric(78, 0) NOT NULL,
	"vote_count" integer NOT NULL,
	"created_block" bigint NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"created_tx" text NOT NULL,
	"eta" timestamp with time zone,
	"queued_block" bigint,
	"queued_at" timestamp with time zone,
	"queued_tx" text,
	"executed_block" bigint,
	"executed_at" timestamp with time zone,
	"executed_tx" text,
	"canceled_block" bigint,
	"canceled_at" timestamp with time zone,
	"canceled_tx" text,
	CONSTRAINT "proposal_chain_id_proposal_id_pk" PRIMARY KEY("chain_id","proposal_id")
);
--> statement-breakpoint
CREATE TABLE "registry_event" (
	"chain_id" integer NOT NULL,
	"tx_hash" text NOT NULL,
	"log_index" integer NOT NULL,
	"block_number" bigint NOT NULL,
	"block_hash" text NOT NULL,
	"block_time" timestamp with time zone NOT NULL,
	"address" text NOT NULL,
	"event_name" text NOT NULL,
	"args" jsonb NOT NULL,
	CONSTRAINT "registry_event_chain_id_tx_hash_log_index_pk" PRIMARY KEY("chain_id","tx_hash","log_index")
);
--> statement-breakpoint
CREATE TABLE "timelock_event" (
	"chain_id" integer NOT NULL,
	"tx_hash" text NOT NULL,
	"log_index" integer NOT NULL,
	"block_number" bigint NOT NULL,
	"block_hash" text NOT NULL,
	"block_time" timestamp with time zone NOT NULL,
	"address" text NOT NULL,
	"event_name" text NOT NULL,
	"args" jsonb NOT NULL,
	CONSTRAINT "timelock_event_chain_id_tx_hash_log_index_pk" PRIMARY KEY("chain_id","tx_hash","log_index")
);
--> statement-breakpoint
CREATE TABLE "token_balance" (
	"chain_id" integer NOT NULL,
	"address" text NOT NULL,
	"balance" numeric(78, 0) NOT NULL,
	"updated_at_block" bigint NOT NULL,
	CONSTRAINT "token_balance_chain_id_address_pk" PRIMARY KEY("chain_id","address")
);
--> statement-breakpoint
CREATE TABLE "token_event" (
	"chain_id" integer NOT NULL,
	"tx_hash" text NOT NULL,
	"log_index" integer NOT NULL,
	"block_number" bigint NOT NULL,
	"block_hash" text NOT NULL,
	"block_time" timestamp with time zone NOT NULL,
	"address" text NOT NULL,
	"event_name" text NOT NULL,
	"args" jsonb NOT NULL,
	CONSTRAINT "token_event_chain_id_tx_hash_log_index_pk" PRIMARY KEY("chain_id","tx_hash","log_index")
);
--> statement-breakpoint
CREATE TABLE "vote" (
	"chain_id" integer NOT NULL,
	"proposal_id" numeric(78, 0) NOT NULL,
	"voter" text NOT NULL,
	"support" smallint NOT NULL,
	"weight" numeric(78, 0) NOT NULL,
	"reason" text NOT NULL,
	"params" text,
	"block_number" bigint NOT NULL,
	"voted_at" timestamp with time zone NOT NULL,
	"tx_hash" text NOT NULL,
	"log_index" integer NOT NULL,
	CONSTRAINT "vote_chain_id_proposal_id_voter_pk" PRIMARY KEY("chain_id","proposal_id","voter")
);
--> statement-breakpoint
CREATE INDEX "delegation_delegatee_idx" ON "delegation" USING btree ("chain_id","delegatee");--> statement-breakpoint
CREATE INDEX "governor_event_block_idx" ON "governor_event" USING btree ("chain_id","block_number","log_index");--> statement-breakpoint
CREATE INDEX "governor_event_name_idx" ON "governor_event" USING btree ("chain_id","event_name");--> statement-breakpoint
CREATE INDEX "model_slug_idx" ON "model" USING btree ("chain_id","slug");--> statement-breakpoint
CREATE INDEX "model_version_digest_idx" ON "model_version" USING btree ("manifest_digest");--> statement-breakpoint
CREATE INDEX "proposal_created_idx" ON "proposal" USING btree ("chain_id","created_block");--> statement-breakpoint
CREATE INDEX "registry_event_block_idx" ON "registry_event" USING btree ("chain_id","block_number","log_index");--> statement-breakpoint
CREATE INDEX "registry_event_name_idx" ON "registry_event" USING btree ("chain_id","event_name");--> statement-breakpoint
CREATE INDEX "timelock_event_block_idx" ON "timelock_event" USING btree ("chain_id","block_number","log_index");--> statement-breakpoint
CREATE INDEX "timelock_event_name_idx" ON "timelock_event" USING btree ("chain_id","event_name");--> statement-breakpoint
CREATE INDEX "token_event_block_idx" ON "token_event" USING btree ("chain_id","block_number","log_index");--> statement-breakpoint
CREATE INDEX "token_event_name_idx" ON "token_event" USING btree ("chain_id","event_name");--> statement-breakpoint
CREATE INDEX "vote_voter_idx" ON "vote" USING btree ("chain_id","voter");