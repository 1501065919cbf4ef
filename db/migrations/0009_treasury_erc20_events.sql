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
