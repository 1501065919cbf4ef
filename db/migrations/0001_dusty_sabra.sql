CREATE TABLE "blob" (
	"sha256" text PRIMARY KEY NOT NULL,
	"size" bigint NOT NULL,
	"cid" text NOT NULL,
	"kind" text NOT NULL,
	"uploader" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone,
	"pinned" boolean DEFAULT false NOT NULL,
	"safetensors" jsonb
);
--> statement-breakpoint
CREATE TABLE "blob_ref" (
	"manifest_digest" text NOT NULL,
	"path" text NOT NULL,
	"file_sha256" text NOT NULL,
	"size" bigint NOT NULL,
	CONSTRAINT "blob_ref_manifest_digest_path_pk" PRIMARY KEY("manifest_digest","path")
);
--> statement-breakpoint
CREATE TABLE "blob_upload" (
	"sha256" text NOT NULL,
	"account" text NOT NULL,
	"uploaded_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "blob_upload_sha256_account_pk" PRIMARY KEY("sha256","account")
);
--> statement-breakpoint
CREATE TABLE "manifest" (
	"digest" text PRIMARY KEY NOT NULL,
	"model" text NOT NULL,
	"parent" text,
	"canonical" text NOT NULL,
	"submitted_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "blob_gc_idx" ON "blob" USING btree ("pinned","expires_at");--> statement-breakpoint
CREATE INDEX "blob_ref_file_idx" ON "blob_ref" USING btree ("file_sha256");--> statement-breakpoint
CREATE INDEX "blob_upload_account_idx" ON "blob_upload" USING btree ("account");--> statement-breakpoint
CREATE INDEX "manifest_model_idx" ON "manifest" USING btree ("model");