CREATE TABLE "auth_tokens" (
	"token_hash" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"expires_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "memories" (
	"id" text PRIMARY KEY NOT NULL,
	"resource_id" text NOT NULL,
	"scope" text NOT NULL,
	"session_id" text,
	"text" text NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "repo_cache" (
	"resource_key" text PRIMARY KEY NOT NULL,
	"url" text NOT NULL,
	"ref" text,
	"search_path" text,
	"local_path" text NOT NULL,
	"commit" text NOT NULL,
	"cloned_at" timestamp (3) with time zone NOT NULL,
	"last_updated" timestamp (3) with time zone NOT NULL,
	"last_accessed" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sessions" (
	"id" text PRIMARY KEY NOT NULL,
	"resource_id" text NOT NULL,
	"title" text,
	"created_at" timestamp (3) with time zone NOT NULL,
	"last_accessed" timestamp (3) with time zone NOT NULL,
	"turn_lease_id" text,
	"turn_lease_until" bigint
);
--> statement-breakpoint
CREATE TABLE "tool_sessions" (
	"tool_session_id" text PRIMARY KEY NOT NULL,
	"session_id" text NOT NULL,
	"tool_name" text NOT NULL,
	"tool_key" text,
	"state" json DEFAULT '{}'::json NOT NULL,
	"state_version" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"last_accessed" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "tool_sessions_session_tool_key" UNIQUE NULLS NOT DISTINCT("session_id","tool_name","tool_key")
);
--> statement-breakpoint
CREATE TABLE "turn_chunks" (
	"turn_id" text NOT NULL,
	"seq" integer NOT NULL,
	"chunks" json NOT NULL,
	CONSTRAINT "turn_chunks_turn_id_seq_pk" PRIMARY KEY("turn_id","seq")
);
--> statement-breakpoint
CREATE TABLE "turn_traces" (
	"id" text PRIMARY KEY NOT NULL,
	"session_id" text NOT NULL,
	"started_at" timestamp (3) with time zone NOT NULL,
	"trace" json NOT NULL
);
--> statement-breakpoint
CREATE TABLE "turns" (
	"id" text PRIMARY KEY NOT NULL,
	"session_id" text NOT NULL,
	"resource_id" text NOT NULL,
	"chat_id" text,
	"user_message_id" text NOT NULL,
	"assistant_message_id" text NOT NULL,
	"model" text NOT NULL,
	"lease_id" text NOT NULL,
	"owner" text NOT NULL,
	"status" text NOT NULL,
	"stop_requested" boolean DEFAULT false NOT NULL,
	"started_at" timestamp (3) with time zone NOT NULL,
	"ended_at" timestamp (3) with time zone
);
--> statement-breakpoint
CREATE TABLE "usage_daily" (
	"resource_id" text NOT NULL,
	"day" text NOT NULL,
	"model" text NOT NULL,
	"turns" integer DEFAULT 0 NOT NULL,
	"input_tokens" bigint DEFAULT 0 NOT NULL,
	"output_tokens" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "usage_daily_resource_id_day_model_pk" PRIMARY KEY("resource_id","day","model")
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"api_key_hash" text NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"revoked_at" timestamp (3) with time zone,
	CONSTRAINT "users_api_key_hash_unique" UNIQUE("api_key_hash")
);
--> statement-breakpoint
ALTER TABLE "auth_tokens" ADD CONSTRAINT "auth_tokens_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "memories" ADD CONSTRAINT "memories_session_id_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."sessions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tool_sessions" ADD CONSTRAINT "tool_sessions_session_id_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."sessions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "turn_chunks" ADD CONSTRAINT "turn_chunks_turn_id_turns_id_fk" FOREIGN KEY ("turn_id") REFERENCES "public"."turns"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "turn_traces" ADD CONSTRAINT "turn_traces_session_id_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."sessions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "turns" ADD CONSTRAINT "turns_session_id_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."sessions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "auth_tokens_user" ON "auth_tokens" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "memories_resource_session" ON "memories" USING btree ("resource_id","session_id");--> statement-breakpoint
CREATE INDEX "memories_session" ON "memories" USING btree ("session_id");--> statement-breakpoint
CREATE INDEX "repo_cache_last_accessed" ON "repo_cache" USING btree ("last_accessed");--> statement-breakpoint
CREATE INDEX "sessions_resource_recent" ON "sessions" USING btree ("resource_id","last_accessed","id");--> statement-breakpoint
CREATE INDEX "sessions_last_accessed" ON "sessions" USING btree ("last_accessed");--> statement-breakpoint
CREATE INDEX "turn_traces_session" ON "turn_traces" USING btree ("session_id","started_at");--> statement-breakpoint
CREATE INDEX "turns_session_status" ON "turns" USING btree ("session_id","status");--> statement-breakpoint
CREATE INDEX "turns_resource_chat" ON "turns" USING btree ("resource_id","chat_id");--> statement-breakpoint
CREATE INDEX "turns_status_ended" ON "turns" USING btree ("status","ended_at");