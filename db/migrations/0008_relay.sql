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
CREATE UNIQUE INDEX "relay_request_signature_uq" ON "relay_request" USING btree ("chain_id","target","signer","signer_nonce") WHERE status <> 'failed';--> statement-breakpoint
CREATE UNIQUE INDEX "relay_request_sender_nonce_uq" ON "relay_request" USING btree ("chain_id","sender","nonce");--> statement-breakpoint
CREATE INDEX "relay_request_status_idx" ON "relay_request" USING btree ("status");--> statement-breakpoint
CREATE INDEX "relay_request_day_idx" ON "relay_request" USING btree ("budget_day");