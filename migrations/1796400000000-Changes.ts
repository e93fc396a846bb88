import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Changes: the reviewable unit (a merge request) of a branch an agent pushed. Commits, diff stat
 * and the diff are read from the repository when the change is opened (or moves to a new head)
 * and kept in the row, so reading one runs no git. At most one open change per branch of a
 * project; the project's list is by status and creation time.
 */
export class Changes1796400000000 implements MigrationInterface {
  name = 'Changes1796400000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "changes" ("id" character varying(40) NOT NULL, "project_id" character varying(40) NOT NULL,
        "task_id" character varying(40), "activation_id" character varying(40),
        "repository_url" character varying(2048) NOT NULL, "branch" character varying(255) NOT NULL,
        "base_branch" character varying(255) NOT NULL, "base_sha" character varying(64) NOT NULL,
        "head_sha" character varying(64) NOT NULL, "commits" jsonb NOT NULL DEFAULT '[]',
        "diff_stat" jsonb NOT NULL, "diff" text NOT NULL DEFAULT '',
        "diff_truncated" boolean NOT NULL DEFAULT false, "status" character varying(16) NOT NULL,
        "build_id" character varying(40), "merge_requested_at" TIMESTAMP WITH TIME ZONE,
        "merge_requested_by" character varying(40), "merge_head_sha" character varying(64),
        "merge_forced" boolean NOT NULL DEFAULT false, "merge_error" text, "merge_sha" character varying(64),
        "merged_at" TIMESTAMP WITH TIME ZONE, "merged_by" character varying(40),
        "closed_at" TIMESTAMP WITH TIME ZONE, "closed_by" character varying(40),
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "PK_changes" PRIMARY KEY ("id"),
        CONSTRAINT "changes_project_fk" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE,
        CONSTRAINT "changes_merged_by_fk" FOREIGN KEY ("merged_by") REFERENCES "users"("id") ON DELETE SET NULL,
        CONSTRAINT "changes_merge_requested_by_fk" FOREIGN KEY ("merge_requested_by") REFERENCES "users"("id") ON DELETE SET NULL,
        CONSTRAINT "changes_closed_by_fk" FOREIGN KEY ("closed_by") REFERENCES "users"("id") ON DELETE SET NULL)`,
    );
    await queryRunner.query(
      `CREATE INDEX "changes_project_status_created_idx" ON "changes" ("project_id", "status", "created_at", "id")`,
    );
    await queryRunner.query(
      `CREATE INDEX "changes_project_created_idx" ON "changes" ("project_id", "created_at", "id")`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "changes_open_branch_uq" ON "changes" ("project_id", "branch") WHERE status = 'open'`,
    );
    // The merge check and the read model look up the latest build of a change's head commit.
    await queryRunner.query(
      `CREATE INDEX "builds_project_commit_sha_idx" ON "builds" ("project_id", "commit_sha")`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "builds_project_commit_sha_idx"`);
    await queryRunner.query(`DROP TABLE "changes"`);
  }
}
