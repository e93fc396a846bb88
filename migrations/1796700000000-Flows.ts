import { MigrationInterface, QueryRunner } from 'typeorm';

/** Flows: a task taken through the agents in order, with gates; activations know their flow. */
export class Flows1796700000000 implements MigrationInterface {
  name = 'Flows1796700000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "flows" ("id" character varying(40) NOT NULL, "project_id" character varying(40) NOT NULL, "task_id" character varying(40) NOT NULL, "status" character varying(24) NOT NULL, "stages" jsonb NOT NULL, "current" integer NOT NULL DEFAULT '0', "gates" jsonb NOT NULL, "gate" character varying(32), "feedback" text, "config" jsonb NOT NULL DEFAULT '{}', "change_id" character varying(40), "merge_approved" boolean NOT NULL DEFAULT false, "merge_requested" boolean NOT NULL DEFAULT false, "error" text, "created_by" character varying(40) NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "completed_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_flows" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "flows_task_idx" ON "flows" ("task_id", "created_at") `);
    await queryRunner.query(`CREATE INDEX "flows_status_idx" ON "flows" ("status", "updated_at") `);
    await queryRunner.query(
      `ALTER TABLE "flows" ADD CONSTRAINT "flows_project_fk" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "flows" ADD CONSTRAINT "flows_task_fk" FOREIGN KEY ("task_id") REFERENCES "tasks"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(`ALTER TABLE "agent_activations" ADD "flow_id" character varying(40)`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "agent_activations" DROP COLUMN "flow_id"`);
    await queryRunner.query(`ALTER TABLE "flows" DROP CONSTRAINT "flows_task_fk"`);
    await queryRunner.query(`ALTER TABLE "flows" DROP CONSTRAINT "flows_project_fk"`);
    await queryRunner.query(`DROP INDEX "public"."flows_status_idx"`);
    await queryRunner.query(`DROP INDEX "public"."flows_task_idx"`);
    await queryRunner.query(`DROP TABLE "flows"`);
  }
}
