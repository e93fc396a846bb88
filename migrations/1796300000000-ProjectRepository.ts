import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A project's repository (URL, default branch, main pipeline, credentials sealed with
 * SECRETS_ENCRYPTION_KEY), and pipelines that follow it: a pipeline without its own
 * repository_url (or default_branch) takes the project's at each trigger. Existing pipelines keep
 * their own values. A build records whether its URL came from the project, so that the worker
 * opens the project's credentials for its checkout (the build row never holds them).
 */
export class ProjectRepository1796300000000 implements MigrationInterface {
  name = 'ProjectRepository1796300000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "projects" ADD "repository_url" character varying(2048)`);
    await queryRunner.query(`ALTER TABLE "projects" ADD "repository_default_branch" character varying(255)`);
    await queryRunner.query(`ALTER TABLE "projects" ADD "repository_pipeline_id" character varying(40)`);
    await queryRunner.query(`ALTER TABLE "projects" ADD "repository_credentials" text`);
    await queryRunner.query(`ALTER TABLE "pipelines" ALTER COLUMN "repository_url" DROP NOT NULL`);
    await queryRunner.query(`ALTER TABLE "pipelines" ALTER COLUMN "default_branch" DROP NOT NULL`);
    await queryRunner.query(`ALTER TABLE "builds" ADD "project_credentials" boolean NOT NULL DEFAULT false`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "builds" DROP COLUMN "project_credentials"`);
    // Pipelines that followed their project get its values (or a placeholder) back before NOT NULL.
    await queryRunner.query(
      `UPDATE "pipelines" pl SET "repository_url" = COALESCE(pl."repository_url", p."repository_url", 'file:///nonexistent'),
              "default_branch" = COALESCE(pl."default_branch", p."repository_default_branch", 'main')
         FROM "projects" p WHERE p."id" = pl."project_id"
          AND (pl."repository_url" IS NULL OR pl."default_branch" IS NULL)`,
    );
    await queryRunner.query(`ALTER TABLE "pipelines" ALTER COLUMN "default_branch" SET NOT NULL`);
    await queryRunner.query(`ALTER TABLE "pipelines" ALTER COLUMN "repository_url" SET NOT NULL`);
    await queryRunner.query(`ALTER TABLE "projects" DROP COLUMN "repository_credentials"`);
    await queryRunner.query(`ALTER TABLE "projects" DROP COLUMN "repository_pipeline_id"`);
    await queryRunner.query(`ALTER TABLE "projects" DROP COLUMN "repository_default_branch"`);
    await queryRunner.query(`ALTER TABLE "projects" DROP COLUMN "repository_url"`);
  }
}
