CREATE TABLE "upload_session_part" (
	"session_id" text NOT NULL,
	"start" bigint NOT NULL,
	"length" bigint NOT NULL,
	"key" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "upload_session_part_session_id_start_pk" PRIMARY KEY("session_id","start")
);
