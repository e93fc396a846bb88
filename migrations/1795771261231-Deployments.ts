import { MigrationInterface, QueryRunner } from 'typeorm';

export class Deployments1795771261231 implements MigrationInterface {
  name = 'Deployments1795771261231';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "applications" ("id" character varying(40) NOT NULL, "project_id" character varying(40) NOT NULL, "name" character varying(100) NOT NULL, "description" character varying(500), "target_type" character varying(32) NOT NULL, "target_config" jsonb NOT NULL, "target_secret" character varying(200), "created_by" character varying(40), "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_938c0a27255637bde919591888f" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "applications_project_created_idx" ON "applications"  ("project_id", "created_at", "id") `,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "applications_project_name_key" ON "applications"  ("project_id", "name") `,
    );
    await queryRunner.query(
      `CREATE TABLE "application_environments" ("application_id" character varying(40) NOT NULL, "environment" character varying(16) NOT NULL, "live_version" character varying(100), "live_colour" character varying(8), "live_deployment_id" character varying(40), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_034e78c0487bdf45281677734d3" PRIMARY KEY ("application_id", "environment"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "deployments" ("id" character varying(40) NOT NULL, "application_id" character varying(40) NOT NULL, "project_id" character varying(40) NOT NULL, "environment" character varying(16) NOT NULL, "version" character varying(100) NOT NULL, "strategy" character varying(16) NOT NULL, "status" character varying(20) NOT NULL, "requested_by" character varying(40), "rollback_of" character varying(40), "rollback_reason" text, "rolled_back_by" character varying(40), "previous_version" character varying(100), "previous_colour" character varying(8), "failure_reason" text, "runs" integer NOT NULL DEFAULT '0', "lease_token" character varying(40), "locked_until" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "queued_at" TIMESTAMP WITH TIME ZONE, "started_at" TIMESTAMP WITH TIME ZONE, "finished_at" TIMESTAMP WITH TIME ZONE, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_1e5627acb3c950deb83fe98fc48" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "deployments_lease_idx" ON "deployments"  ("locked_until") WHERE status = 'in_progress'`,
    );
    await queryRunner.query(
      `CREATE INDEX "deployments_project_created_idx" ON "deployments"  ("project_id", "created_at", "id") `,
    );
    await queryRunner.query(
      `CREATE INDEX "deployments_application_created_idx" ON "deployments"  ("application_id", "created_at", "id") `,
    );
    await queryRunner.query(
      `CREATE INDEX "deployments_history_idx" ON "deployments"  ("application_id", "environment", "started_at") `,
    );
    await queryRunner.query(
      `CREATE INDEX "deployments_queued_idx" ON "deployments"  ("application_id", "environment", "queued_at") WHERE status = 'queued'`,
    );
    // One deployment at a time per application and environment, as a fact of the schema.
    await queryRunner.query(
      `CREATE UNIQUE INDEX "deployments_running_key" ON "deployments"  ("application_id", "environment") WHERE status = 'in_progress'`,
    );
    await queryRunner.query(
      `CREATE TABLE "deployment_approvals" ("deployment_id" character varying(40) NOT NULL, "user_id" character varying(40) NOT NULL, "position" integer NOT NULL, "status" character varying(16) NOT NULL, "comment" text, "decided_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_ac2646d124a7e9467bfb4f23e75" PRIMARY KEY ("deployment_id", "user_id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "deployment_steps" ("deployment_id" character varying(40) NOT NULL, "position" integer NOT NULL, "name" character varying(64) NOT NULL, "action" character varying(16) NOT NULL, "phase" character varying(8) NOT NULL, "percent" integer NOT NULL, "colour" character varying(8), "version" character varying(100) NOT NULL, "status" character varying(16) NOT NULL, "attempts" integer NOT NULL DEFAULT '0', "output" text, "error" text, "started_at" TIMESTAMP WITH TIME ZONE, "finished_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_91a82906a07140c197ee01cf8bc" PRIMARY KEY ("deployment_id", "position"))`,
    );
    await queryRunner.query(
      `ALTER TABLE "applications" ADD CONSTRAINT "applications_project_fk" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "application_environments" ADD CONSTRAINT "application_environments_application_fk" FOREIGN KEY ("application_id") REFERENCES "applications"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "deployments" ADD CONSTRAINT "deployments_application_fk" FOREIGN KEY ("application_id") REFERENCES "applications"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "deployments" ADD CONSTRAINT "deployments_project_fk" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "deployment_approvals" ADD CONSTRAINT "deployment_approvals_deployment_fk" FOREIGN KEY ("deployment_id") REFERENCES "deployments"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "deployment_steps" ADD CONSTRAINT "deployment_steps_deployment_fk" FOREIGN KEY ("deployment_id") REFERENCES "deployments"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "deployment_steps" DROP CONSTRAINT "deployment_steps_deployment_fk"`,
    );
    await queryRunner.query(
      `ALTER TABLE "deployment_approvals" DROP CONSTRAINT "deployment_approvals_deployment_fk"`,
    );
    await queryRunner.query(`ALTER TABLE "deployments" DROP CONSTRAINT "deployments_project_fk"`);
    await queryRunner.query(`ALTER TABLE "deployments" DROP CONSTRAINT "deployments_application_fk"`);
    await queryRunner.query(
      `ALTER TABLE "application_environments" DROP CONSTRAINT "application_environments_application_fk"`,
    );
    await queryRunner.query(`ALTER TABLE "applications" DROP CONSTRAINT "applications_project_fk"`);
    await queryRunner.query(`DROP TABLE "deployment_steps"`);
    await queryRunner.query(`DROP TABLE "deployment_approvals"`);
    await queryRunner.query(`DROP INDEX "public"."deployments_running_key"`);
    await queryRunner.query(`DROP INDEX "public"."deployments_queued_idx"`);
    await queryRunner.query(`DROP INDEX "public"."deployments_history_idx"`);
    await queryRunner.query(`DROP INDEX "public"."deployments_application_created_idx"`);
    await queryRunner.query(`DROP INDEX "public"."deployments_project_created_idx"`);
    await queryRunner.query(`DROP INDEX "public"."deployments_lease_idx"`);
    await queryRunner.query(`DROP TABLE "deployments"`);
    await queryRunner.query(`DROP TABLE "application_environments"`);
    await queryRunner.query(`DROP INDEX "public"."applications_project_name_key"`);
    await queryRunner.query(`DROP INDEX "public"."applications_project_created_idx"`);
    await queryRunner.query(`DROP TABLE "applications"`);
  }
}
