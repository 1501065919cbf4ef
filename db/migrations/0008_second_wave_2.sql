CREATE TABLE "upload_claim" (
	"id" text PRIMARY KEY NOT NULL,
	"account" text NOT NULL,
	"kind" text NOT NULL,
	"bytes" bigint NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "proposal_deadline_event" (
	"chain_id" integer NOT NULL,
	"tx_hash" text NOT NULL,
	"log_index" integer NOT NULL,
	"block_number" bigint NOT NULL,
	"block_hash" text NOT NULL,
	"block_time" timestamp with time zone NOT NULL,
	"address" text NOT NULL,
	"event_name" text NOT NULL,
	"args" jsonb NOT NULL,
	CONSTRAINT "proposal_deadline_event_chain_id_block_number_log_index_pk" PRIMARY KEY("chain_id","block_number","log_index")
);
--> statement-breakpoint
CREATE TABLE "delegate_statement" (
	"chain_id" integer NOT NULL,
	"governor" text NOT NULL,
	"delegate" text NOT NULL,
	"name" text NOT NULL,
	"statement" text NOT NULL,
	"links" jsonb NOT NULL,
	"models" jsonb NOT NULL,
	"issued_at" bigint NOT NULL,
	"expiry" bigint NOT NULL,
	"signature" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "delegate_statement_chain_id_governor_delegate_pk" PRIMARY KEY("chain_id","governor","delegate")
);
--> statement-breakpoint
CREATE TABLE "erc20_event" (
	"chain_id" integer NOT NULL,
	"tx_hash" text NOT NULL,
	"log_index" integer NOT NULL,
	"block_number" bigint NOT NULL,
	"block_hash" text NOT NULL,
	"block_time" timestamp with time zone NOT NULL,
	"address" text NOT NULL,
	"event_name" text NOT NULL,
	"args" jsonb NOT NULL,
	CONSTRAINT "erc20_event_chain_id_block_number_log_index_pk" PRIMARY KEY("chain_id","block_number","log_index")
);
--> statement-breakpoint
CREATE TABLE "relay_request" (
	"id" text PRIMARY KEY NOT NULL,
	"chain_id" integer NOT NULL,
	"kind" text NOT NULL,
	"target" text NOT NULL,
	"signer" text NOT NULL,
	"signer_nonce" text NOT NULL,
	"proposal_id" text,
	"calldata" text NOT NULL,
	"detail" jsonb NOT NULL,
	"status" text NOT NULL,
	"sender" text NOT NULL,
	"nonce" bigint NOT NULL,
	"gas_limit" text NOT NULL,
	"attempts" jsonb NOT NULL,
	"reserved_wei" text NOT NULL,
	"spent_wei" text,
	"budget_day" text NOT NULL,
	"tx_hash" text,
	"block_number" bigint,
	"gas_used" text,
	"error_code" text,
	"error_message" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "relay_sender" (
	"chain_id" integer NOT NULL,
	"address" text NOT NULL,
	"next_nonce" bigint NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "relay_sender_chain_id_address_pk" PRIMARY KEY("chain_id","address")
);
--> statement-breakpoint
CREATE TABLE "upload_session_part" (
	"session_id" text NOT NULL,
	"start" bigint NOT NULL,
	"length" bigint NOT NULL,
	"key" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "upload_session_part_session_id_start_pk" PRIMARY KEY("session_id","start")
);
--> statement-breakpoint
CREATE TABLE "remote_pin" (
	"id" serial PRIMARY KEY NOT NULL,
	"service" text NOT NULL,
	"chain_id" integer NOT NULL,
	"model_id" numeric(78, 0) NOT NULL,
	"slug" text NOT NULL,
	"version" integer NOT NULL,
	"path" text NOT NULL,
	"cid" text NOT NULL,
	"sha256" text NOT NULL,
	"name" text NOT NULL,
	"want" text DEFAULT 'pinned' NOT NULL,
	"state" text DEFAULT 'new' NOT NULL,
	"request_id" text,
	"failures" integer DEFAULT 0 NOT NULL,
	"polls" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"lease_owner" text,
	"lease_until" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "upload_claim_account_idx" ON "upload_claim" USING btree ("account","kind");--> statement-breakpoint
CREATE INDEX "delegate_statement_updated_idx" ON "delegate_statement" USING btree ("chain_id","governor","updated_at");--> statement-breakpoint
CREATE UNIQUE INDEX "relay_request_signature_uq" ON "relay_request" USING btree ("chain_id","target","signer","signer_nonce") WHERE status <> 'failed';--> statement-breakpoint
CREATE UNIQUE INDEX "relay_request_sender_nonce_uq" ON "relay_request" USING btree ("chain_id","sender","nonce");--> statement-breakpoint
CREATE INDEX "relay_request_status_idx" ON "relay_request" USING btree ("status");--> statement-breakpoint
CREATE INDEX "relay_request_day_idx" ON "relay_request" USING btree ("budget_day");--> statement-breakpoint
CREATE UNIQUE INDEX "remote_pin_key" ON "remote_pin" USING btree ("service","chain_id","model_id","version","path");--> statement-breakpoint
CREATE INDEX "remote_pin_due_idx" ON "remote_pin" USING btree ("next_attempt_at");--> statement-breakpoint
CREATE INDEX "remote_pin_model_idx" ON "remote_pin" USING btree ("chain_id","slug");