import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The files of FILE_STORE=postgres (build artifacts): one row a key, its bytes in chunks of 256 KiB.
 * A file's rows have an id of their own, so a reader of a file being replaced sees either the old
 * chunks or none, never the new ones mixed in. Chunks are stored EXTERNAL: not compressed again
 * (artifacts mostly are already), and read by slices without decompressing.
 */
export class StoredFiles1796200000000 implements MigrationInterface {
  name = 'StoredFiles1796200000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "stored_files" ("id" uuid NOT NULL, "key" character varying(1024) NOT NULL,
        "size" bigint NOT NULL, "content_type" character varying(255) NOT NULL, "chunk_size" integer NOT NULL,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "PK_stored_files" PRIMARY KEY ("id"), CONSTRAINT "UQ_stored_files_key" UNIQUE ("key"))`,
    );
    // DELETE ... WHERE key LIKE 'builds/b1/%' (whatever the database's collation).
    await queryRunner.query(
      `CREATE INDEX "stored_files_key_prefix_idx" ON "stored_files" ("key" varchar_pattern_ops)`,
    );
    await queryRunner.query(
      `CREATE TABLE "stored_file_chunks" ("file_id" uuid NOT NULL, "seq" integer NOT NULL, "data" bytea NOT NULL,
        CONSTRAINT "PK_stored_file_chunks" PRIMARY KEY ("file_id", "seq"),
        CONSTRAINT "FK_stored_file_chunks_file" FOREIGN KEY ("file_id") REFERENCES "stored_files"("id") ON DELETE CASCADE)`,
    );
    await queryRunner.query(`ALTER TABLE "stored_file_chunks" ALTER COLUMN "data" SET STORAGE EXTERNAL`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "stored_file_chunks"`);
    await queryRunner.query(`DROP TABLE "stored_files"`);
  }
}
