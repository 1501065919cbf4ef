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
CREATE INDEX "delegate_statement_updated_idx" ON "delegate_statement" USING btree ("chain_id","governor","updated_at");