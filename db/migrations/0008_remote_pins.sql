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
CREATE UNIQUE INDEX "remote_pin_key" ON "remote_pin" USING btree ("service","chain_id","model_id","version","path");--> statement-breakpoint
CREATE INDEX "remote_pin_due_idx" ON "remote_pin" USING btree ("next_attempt_at");--> statement-breakpoint
CREATE INDEX "remote_pin_model_idx" ON "remote_pin" USING btree ("chain_id","slug");