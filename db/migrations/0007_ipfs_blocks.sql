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
CREATE INDEX "ipfs_block_blob_idx" ON "ipfs_block" USING btree ("blob_sha256");