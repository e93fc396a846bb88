import { MigrationInterface, QueryRunner } from 'typeorm';

export class Foundation1795768469881 implements MigrationInterface {
  name = 'Foundation1795768469881';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "idempotency_keys" ("principal" character varying(128) NOT NULL, "key" character varying(255) NOT NULL, "request_hash" character(64) NOT NULL, "state" character varying(16) NOT NULL, "response_status" integer, "response_body" jsonb, "response_headers" jsonb, "locked_until" TIMESTAMP WITH TIME ZONE NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_574edfb9ce98100b66a0a2e0f34" PRIMARY KEY ("principal", "key"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "idempotency_keys_expires_idx" ON "idempotency_keys"  ("expires_at") `,
    );
    await queryRunner.query(
      `CREATE TABLE "outbox_messages" ("id" BIGSERIAL NOT NULL, "queue" character varying(64) NOT NULL, "name" character varying(128) NOT NULL, "payload" jsonb NOT NULL, "request_id" character varying(128), "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "dispatched_at" TIMESTAMP WITH TIME ZONE, "attempts" integer NOT NULL DEFAULT '0', "last_error" text, CONSTRAINT "PK_0171348f527c64b137e4d4f5b66" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "outbox_messages_pending_idx" ON "outbox_messages"  ("id") WHERE dispatched_at IS NULL`,
    );
    await queryRunner.query(
      `CREATE TABLE "audit_logs" ("id" character varying(40) NOT NULL, "actor_id" character varying(40), "action" character varying(64) NOT NULL, "target_type" character varying(32) NOT NULL, "target_id" character varying(64) NOT NULL, "details" jsonb NOT NULL, "request_id" character varying(128), "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_1bb179d048bbc581caa3b013439" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "audit_logs_target_idx" ON "audit_logs"  ("target_type", "target_id") `,
    );
    await queryRunner.query(`CREATE INDEX "audit_logs_created_idx" ON "audit_logs"  ("created_at") `);
    await queryRunner.query(
      `CREATE TABLE "users" ("id" character varying(40) NOT NULL, "username" character varying(20) NOT NULL, "email" character varying(254) NOT NULL, "full_name" character varying(100) NOT NULL, "role" character varying(32) NOT NULL, "status" character varying(32) NOT NULL, "tier" character varying(16) NOT NULL DEFAULT 'free', "avatar" character varying(500), "department" character varying(100), "password_hash" text NOT NULL, "email_verified_at" TIMESTAMP WITH TIME ZONE, "verification_token_hash" character(64), "verification_expires_at" TIMESTAMP WITH TIME ZONE, "last_login_at" TIMESTAMP WITH TIME ZONE, "tokens_valid_after" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "deleted_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_a3ffb1c0c8416b9fc6f907b7433" PRIMARY KEY ("id"))`,
    );
    // Case-insensitive and among live users only: a soft-deleted user's name may be taken again.
    await queryRunner.query(
      `CREATE UNIQUE INDEX "users_username_key" ON "users" (lower("username")) WHERE deleted_at IS NULL`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "users_email_key" ON "users" (lower("email")) WHERE deleted_at IS NULL`,
    );
    await queryRunner.query(
      `CREATE INDEX "users_created_idx" ON "users"  ("created_at") WHERE deleted_at IS NULL`,
    );
    await queryRunner.query(
      `CREATE TABLE "mails" ("id" character varying(40) NOT NULL, "to" character varying(254) NOT NULL, "subject" character varying(300) NOT NULL, "text" text NOT NULL, "purpose" character varying(64) NOT NULL, "status" character varying(16) NOT NULL DEFAULT 'queued', "attempts" integer NOT NULL DEFAULT '0', "error" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "sent_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_218248d7dfe1b739f06e2309349" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "api_clients" ("id" character varying(64) NOT NULL, "name" character varying(100) NOT NULL, "owner_id" character varying(40) NOT NULL, "secret_hash" character(64) NOT NULL, "scopes" character varying(64) NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "last_used_at" TIMESTAMP WITH TIME ZONE, "secret_rotated_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_ef2d5ef0eb5e9a6ddc67cfa310e" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "api_clients_owner_idx" ON "api_clients"  ("owner_id") `);
    await queryRunner.query(
      `CREATE TABLE "refresh_tokens" ("id" character varying(40) NOT NULL, "family_id" character varying(40) NOT NULL, "user_id" character varying(40) NOT NULL, "client_id" character varying(64), "token_hash" character(64) NOT NULL, "scope" character varying(64) NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, "used_at" TIMESTAMP WITH TIME ZONE, "revoked_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_7d8bee0204106019488c4c50ffa" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "refresh_tokens_hash_key" ON "refresh_tokens"  ("token_hash") `,
    );
    await queryRunner.query(`CREATE INDEX "refresh_tokens_user_idx" ON "refresh_tokens"  ("user_id") `);
    await queryRunner.query(`CREATE INDEX "refresh_tokens_family_idx" ON "refresh_tokens"  ("family_id") `);
    await queryRunner.query(
      `ALTER TABLE "api_clients" ADD CONSTRAINT "api_clients_owner_fk" FOREIGN KEY ("owner_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "refresh_tokens" ADD CONSTRAINT "refresh_tokens_user_fk" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "refresh_tokens" ADD CONSTRAINT "refresh_tokens_client_fk" FOREIGN KEY ("client_id") REFERENCES "api_clients"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "refresh_tokens" DROP CONSTRAINT "refresh_tokens_client_fk"`);
    await queryRunner.query(`ALTER TABLE "refresh_tokens" DROP CONSTRAINT "refresh_tokens_user_fk"`);
    await queryRunner.query(`ALTER TABLE "api_clients" DROP CONSTRAINT "api_clients_owner_fk"`);
    await queryRunner.query(`DROP INDEX "public"."refresh_tokens_family_idx"`);
    await queryRunner.query(`DROP INDEX "public"."refresh_tokens_user_idx"`);
    await queryRunner.query(`DROP INDEX "public"."refresh_tokens_hash_key"`);
    await queryRunner.query(`DROP TABLE "refresh_tokens"`);
    await queryRunner.query(`DROP INDEX "public"."api_clients_owner_idx"`);
    await queryRunner.query(`DROP TABLE "api_clients"`);
    await queryRunner.query(`DROP TABLE "mails"`);
    await queryRunner.query(`DROP INDEX "public"."users_created_idx"`);
    await queryRunner.query(`DROP INDEX "public"."users_email_key"`);
    await queryRunner.query(`DROP INDEX "public"."users_username_key"`);
    await queryRunner.query(`DROP TABLE "users"`);
    await queryRunner.query(`DROP INDEX "public"."audit_logs_created_idx"`);
    await queryRunner.query(`DROP INDEX "public"."audit_logs_target_idx"`);
    await queryRunner.query(`DROP TABLE "audit_logs"`);
    await queryRunner.query(`DROP INDEX "public"."outbox_messages_pending_idx"`);
    await queryRunner.query(`DROP TABLE "outbox_messages"`);
    await queryRunner.query(`DROP INDEX "public"."idempotency_keys_expires_idx"`);
    await queryRunner.query(`DROP TABLE "idempotency_keys"`);
  }
}
