CREATE TABLE "upload_session" (
	"id" text PRIMARY KEY NOT NULL,
	"account" text NOT NULL,
	"length" bigint NOT NULL,
	"expected_sha256" text,
	"file_name" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"result_sha256" text
);
--> statement-breakpoint
CREATE INDEX "upload_session_account_idx" ON "upload_session" USING btree ("account");--> statement-breakpoint
CREATE INDEX "upload_session_expires_idx" ON "upload_session" USING btree ("expires_at");