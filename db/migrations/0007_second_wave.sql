CREATE TABLE "webhook_attempt" (
	"delivery_id" text NOT NULL,
	"attempt" integer NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"status_code" integer,
	"error" text,
	"duration_ms" integer NOT NULL,
	CONSTRAINT "webhook_attempt_delivery_id_attempt_pk" PRIMARY KEY("delivery_id","attempt")
);
--> statement-breakpoint
CREATE TABLE "webhook_delivery" (
	"id" text PRIMARY KEY NOT NULL,
	"subscription_id" text NOT NULL,
	"event_id" text NOT NULL,
	"block_number" bigint NOT NULL,
	"log_index" integer NOT NULL,
	"seq" bigint NOT NULL,
	"body" text NOT NULL,
	"status" text NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone NOT NULL,
	"delivered_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "webhook_subscription" (
	"id" text PRIMARY KEY NOT NULL,
	"chain_id" integer NOT NULL,
	"url" text NOT NULL,
	"secret" text NOT NULL,
	"models" jsonb,
	"kinds" jsonb,
	"cursor_block" bigint NOT NULL,
	"cursor_log" integer NOT NULL,
	"consecutive_failures" integer DEFAULT 0 NOT NULL,
	"disabled_at" timestamp with time zone,
	"disabled_reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ipfs_block" (
	"multihash" text NOT NULL,
	"blob_sha256" text NOT NULL,
	"codec" integer NOT NULL,
	"offset" bigint NOT NULL,
	"length" integer NOT NULL,
	"node" "bytea",
	"repeats" boolean DEFAULT false NOT NULL,
	CONSTRAINT "ipfs_block_multihash_blob_sha256_pk" PRIMARY KEY("multihash","blob_sha256")
);
--> statement-breakpoint
CREATE TABLE "ipfs_dag" (
	"blob_sha256" text PRIMARY KEY NOT NULL,
	"root_cid" text NOT NULL,
	"blocks" integer NOT NULL,
	"indexed_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "webhook_delivery_pending_idx" ON "webhook_delivery" USING btree ("subscription_id","status","seq");--> statement-breakpoint
CREATE INDEX "ipfs_block_blob_idx" ON "ipfs_block" USING btree ("blob_sha256");