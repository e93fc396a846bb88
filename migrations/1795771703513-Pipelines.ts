import { MigrationInterface, QueryRunner } from 'typeorm';

export class Pipelines1795771703513 implements MigrationInterface {
  name = 'Pipelines1795771703513';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "pipelines" ("id" character varying(40) NOT NULL, "project_id" character varying(40) NOT NULL, "name" character varying(200) NOT NULL, "description" text, "repository_url" character varying(2048) NOT NULL, "default_branch" character varying(255) NOT NULL, "stages" jsonb NOT NULL, "artifacts" text array NOT NULL DEFAULT '{}', "created_by" character varying(40), "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_e38ea171cdfad107c1f3db2c036" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "pipelines_project_created_idx" ON "pipelines"  ("project_id", "created_at", "id") `,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "pipelines_project_name_key" ON "pipelines"  ("project_id", "name") `,
    );
    await queryRunner.query(
      `CREATE TABLE "builds" ("id" character varying(40) NOT NULL, "pipeline_id" character varying(40) NOT NULL, "project_id" character varying(40) NOT NULL, "status" character varying(16) NOT NULL, "branch" character varying(255) NOT NULL, "commit" character varying(64), "commit_sha" character varying(64), "environment" character varying(16), "skip_tests" boolean NOT NULL DEFAULT false, "variables" jsonb NOT NULL DEFAULT '{}', "variable_names" text array NOT NULL DEFAULT '{}', "repository_url" character varying(2048) NOT NULL, "stages" jsonb NOT NULL, "artifact_globs" text array NOT NULL DEFAULT '{}', "artifacts" jsonb NOT NULL DEFAULT '[]', "current_stage" character varying(200), "progress" smallint NOT NULL DEFAULT '0', "error" text, "triggered_by" character varying(40), "started_at" TIMESTAMP WITH TIME ZONE, "finished_at" TIMESTAMP WITH TIME ZONE, "cancel_requested_at" TIMESTAMP WITH TIME ZONE, "attempts" integer NOT NULL DEFAULT '0', "locked_by" character varying(200), "locked_until" TIMESTAMP WITH TIME ZONE, "process_group" integer, "log_seq" integer NOT NULL DEFAULT '0', "log_bytes" bigint NOT NULL DEFAULT '0', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_c181c897db1d7b044faace6e86c" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "builds_finished_idx" ON "builds"  ("finished_at") WHERE status IN ('success', 'failed')`,
    );
    await queryRunner.query(
      `CREATE INDEX "builds_running_idx" ON "builds"  ("locked_until") WHERE status = 'running'`,
    );
    await queryRunner.query(
      `CREATE INDEX "builds_queued_idx" ON "builds"  ("created_at", "id") WHERE status = 'queued'`,
    );
    await queryRunner.query(`CREATE INDEX "builds_project_idx" ON "builds"  ("project_id") `);
    await queryRunner.query(
      `CREATE INDEX "builds_pipeline_finished_idx" ON "builds"  ("pipeline_id", "finished_at") `,
    );
    await queryRunner.query(
      `CREATE INDEX "builds_pipeline_created_idx" ON "builds"  ("pipeline_id", "created_at", "id") `,
    );
    await queryRunner.query(
      `CREATE TABLE "build_log_events" ("build_id" character varying(40) NOT NULL, "seq" integer NOT NULL, "kind" character varying(16) NOT NULL, "body" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_4f5f703c1a35a81a786cdebdc16" PRIMARY KEY ("build_id", "seq"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "test_suites" ("id" character varying(40) NOT NULL, "project_id" character varying(40) NOT NULL, "name" character varying(200) NOT NULL, "description" text, "repository_url" character varying(2048), "branch" character varying(255), "working_directory" character varying(1024), "command" text NOT NULL, "report_path" character varying(1024) NOT NULL, "timeout_seconds" integer NOT NULL, "created_by" character varying(40), "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_42bee32456ca3550ee74c177937" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "test_suites_project_created_idx" ON "test_suites"  ("project_id", "created_at", "id") `,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "test_suites_project_name_key" ON "test_suites"  ("project_id", "name") `,
    );
    await queryRunner.query(
      `CREATE TABLE "test_runs" ("id" character varying(40) NOT NULL, "suite_id" character varying(40) NOT NULL, "project_id" character varying(40) NOT NULL, "status" character varying(16) NOT NULL, "environment" character varying(64), "browsers" text array NOT NULL, "parallel" smallint NOT NULL, "triggered_by" character varying(40), "commit_sha" character varying(64), "started_at" TIMESTAMP WITH TIME ZONE, "finished_at" TIMESTAMP WITH TIME ZONE, "exit_code" integer, "error" text, "log_tail" text, "total" integer, "passed" integer, "failed" integer, "skipped" integer, "errors" integer, "duration" numeric(14,3), "attempts" integer NOT NULL DEFAULT '0', "locked_by" character varying(200), "locked_until" TIMESTAMP WITH TIME ZONE, "process_group" integer, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_ec4eca50c7ddfbd0dcf89b46dc6" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "test_runs_running_idx" ON "test_runs"  ("locked_until") WHERE status = 'running'`,
    );
    await queryRunner.query(`CREATE INDEX "test_runs_project_idx" ON "test_runs"  ("project_id") `);
    await queryRunner.query(
      `CREATE INDEX "test_runs_suite_created_idx" ON "test_runs"  ("suite_id", "created_at", "id") `,
    );
    await queryRunner.query(
      `CREATE TABLE "test_cases" ("run_id" character varying(40) NOT NULL, "position" integer NOT NULL, "suite" text NOT NULL, "classname" text, "name" text NOT NULL, "time" numeric(14,3) NOT NULL, "status" character varying(16) NOT NULL, "message" text, "details" text, CONSTRAINT "PK_5bb49a1267aad0e9446127718c6" PRIMARY KEY ("run_id", "position"))`,
    );
    await queryRunner.query(
      `ALTER TABLE "pipelines" ADD CONSTRAINT "pipelines_project_fk" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "pipelines" ADD CONSTRAINT "pipelines_created_by_fk" FOREIGN KEY ("created_by") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "builds" ADD CONSTRAINT "builds_pipeline_fk" FOREIGN KEY ("pipeline_id") REFERENCES "pipelines"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "builds" ADD CONSTRAINT "builds_project_fk" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "builds" ADD CONSTRAINT "builds_triggered_by_fk" FOREIGN KEY ("triggered_by") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "build_log_events" ADD CONSTRAINT "build_log_events_build_fk" FOREIGN KEY ("build_id") REFERENCES "builds"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "test_suites" ADD CONSTRAINT "test_suites_project_fk" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "test_suites" ADD CONSTRAINT "test_suites_created_by_fk" FOREIGN KEY ("created_by") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "test_runs" ADD CONSTRAINT "test_runs_suite_fk" FOREIGN KEY ("suite_id") REFERENCES "test_suites"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "test_runs" ADD CONSTRAINT "test_runs_project_fk" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "test_runs" ADD CONSTRAINT "test_runs_triggered_by_fk" FOREIGN KEY ("triggered_by") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "test_cases" ADD CONSTRAINT "test_cases_run_fk" FOREIGN KEY ("run_id") REFERENCES "test_runs"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "test_cases" DROP CONSTRAINT "test_cases_run_fk"`);
    await queryRunner.query(`ALTER TABLE "test_runs" DROP CONSTRAINT "test_runs_triggered_by_fk"`);
    await queryRunner.query(`ALTER TABLE "test_runs" DROP CONSTRAINT "test_runs_project_fk"`);
    await queryRunner.query(`ALTER TABLE "test_runs" DROP CONSTRAINT "test_runs_suite_fk"`);
    await queryRunner.query(`ALTER TABLE "test_suites" DROP CONSTRAINT "test_suites_created_by_fk"`);
    await queryRunner.query(`ALTER TABLE "test_suites" DROP CONSTRAINT "test_suites_project_fk"`);
    await queryRunner.query(`ALTER TABLE "build_log_events" DROP CONSTRAINT "build_log_events_build_fk"`);
    await queryRunner.query(`ALTER TABLE "builds" DROP CONSTRAINT "builds_triggered_by_fk"`);
    await queryRunner.query(`ALTER TABLE "builds" DROP CONSTRAINT "builds_project_fk"`);
    await queryRunner.query(`ALTER TABLE "builds" DROP CONSTRAINT "builds_pipeline_fk"`);
    await queryRunner.query(`ALTER TABLE "pipelines" DROP CONSTRAINT "pipelines_created_by_fk"`);
    await queryRunner.query(`ALTER TABLE "pipelines" DROP CONSTRAINT "pipelines_project_fk"`);
    await queryRunner.query(`DROP TABLE "test_cases"`);
    await queryRunner.query(`DROP INDEX "public"."test_runs_suite_created_idx"`);
    await queryRunner.query(`DROP INDEX "public"."test_runs_project_idx"`);
    await queryRunner.query(`DROP INDEX "public"."test_runs_running_idx"`);
    await queryRunner.query(`DROP TABLE "test_runs"`);
    await queryRunner.query(`DROP INDEX "public"."test_suites_project_name_key"`);
    await queryRunner.query(`DROP INDEX "public"."test_suites_project_created_idx"`);
    await queryRunner.query(`DROP TABLE "test_suites"`);
    await queryRunner.query(`DROP TABLE "build_log_events"`);
    await queryRunner.query(`DROP INDEX "public"."builds_pipeline_created_idx"`);
    await queryRunner.query(`DROP INDEX "public"."builds_pipeline_finished_idx"`);
    await queryRunner.query(`DROP INDEX "public"."builds_project_idx"`);
    await queryRunner.query(`DROP INDEX "public"."builds_queued_idx"`);
    await queryRunner.query(`DROP INDEX "public"."builds_running_idx"`);
    await queryRunner.query(`DROP INDEX "public"."builds_finished_idx"`);
    await queryRunner.query(`DROP TABLE "builds"`);
    await queryRunner.query(`DROP INDEX "public"."pipelines_project_name_key"`);
    await queryRunner.query(`DROP INDEX "public"."pipelines_project_created_idx"`);
    await queryRunner.query(`DROP TABLE "pipelines"`);
  }
}
