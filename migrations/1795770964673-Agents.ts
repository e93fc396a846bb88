import { MigrationInterface, QueryRunner } from 'typeorm';

export class Agents1795770964673 implements MigrationInterface {
  name = 'Agents1795770964673';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "agent_activations" ("id" character varying(40) NOT NULL, "agent_type" character varying(16) NOT NULL, "task_id" character varying(40) NOT NULL, "project_id" character varying(40) NOT NULL, "requested_by" character varying(40), "status" character varying(16) NOT NULL, "input" jsonb NOT NULL, "config" jsonb NOT NULL, "notify_on_complete" boolean NOT NULL DEFAULT true, "provider" character varying(16) NOT NULL, "steps" jsonb NOT NULL, "progress" integer NOT NULL DEFAULT '0', "current_step" character varying(100), "intermediate_results" jsonb NOT NULL DEFAULT '{}', "output" json, "files" jsonb, "error" text, "tokens_used" integer NOT NULL DEFAULT '0', "model_used" character varying(100), "execution_ms" integer, "cancel_requested" boolean NOT NULL DEFAULT false, "locked_until" TIMESTAMP WITH TIME ZONE, "runs" integer NOT NULL DEFAULT '0', "estimated_completion_at" TIMESTAMP WITH TIME ZONE NOT NULL, "started_at" TIMESTAMP WITH TIME ZONE, "completed_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_21156f4fcd9027cf846e4243f65" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "agent_activations_status_idx" ON "agent_activations"  ("status", "locked_until") `,
    );
    await queryRunner.query(
      `CREATE INDEX "agent_activations_project_idx" ON "agent_activations"  ("project_id", "created_at") `,
    );
    await queryRunner.query(
      `CREATE INDEX "agent_activations_task_idx" ON "agent_activations"  ("task_id", "created_at") `,
    );
    await queryRunner.query(
      `CREATE TABLE "agent_activation_events" ("id" BIGSERIAL NOT NULL, "activation_id" character varying(40) NOT NULL, "type" character varying(16) NOT NULL, "data" jsonb NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_cb1299af3d130ea9480f60fb19a" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "agent_activation_events_activation_idx" ON "agent_activation_events"  ("activation_id", "id") `,
    );
    await queryRunner.query(
      `CREATE TABLE "project_documents" ("id" character varying(40) NOT NULL, "project_id" character varying(40) NOT NULL, "task_id" character varying(40), "activation_id" character varying(40) NOT NULL, "kind" character varying(32) NOT NULL, "title" character varying(300) NOT NULL, "format" character varying(16) NOT NULL, "content" text NOT NULL, "created_by" character varying(40), "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_c0d7fa982569e84a809aa2ff5d2" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "project_documents_activation_key" ON "project_documents"  ("activation_id") `,
    );
    await queryRunner.query(
      `CREATE INDEX "project_documents_project_idx" ON "project_documents"  ("project_id", "created_at") `,
    );
    await queryRunner.query(
      `ALTER TABLE "agent_activations" ADD CONSTRAINT "agent_activations_task_fk" FOREIGN KEY ("task_id") REFERENCES "tasks"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "agent_activations" ADD CONSTRAINT "agent_activations_project_fk" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "agent_activation_events" ADD CONSTRAINT "agent_activation_events_activation_fk" FOREIGN KEY ("activation_id") REFERENCES "agent_activations"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "project_documents" ADD CONSTRAINT "project_documents_project_fk" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "project_documents" DROP CONSTRAINT "project_documents_project_fk"`);
    await queryRunner.query(
      `ALTER TABLE "agent_activation_events" DROP CONSTRAINT "agent_activation_events_activation_fk"`,
    );
    await queryRunner.query(`ALTER TABLE "agent_activations" DROP CONSTRAINT "agent_activations_project_fk"`);
    await queryRunner.query(`ALTER TABLE "agent_activations" DROP CONSTRAINT "agent_activations_task_fk"`);
    await queryRunner.query(`DROP INDEX "public"."project_documents_project_idx"`);
    await queryRunner.query(`DROP INDEX "public"."project_documents_activation_key"`);
    await queryRunner.query(`DROP TABLE "project_documents"`);
    await queryRunner.query(`DROP INDEX "public"."agent_activation_events_activation_idx"`);
    await queryRunner.query(`DROP TABLE "agent_activation_events"`);
    await queryRunner.query(`DROP INDEX "public"."agent_activations_task_idx"`);
    await queryRunner.query(`DROP INDEX "public"."agent_activations_project_idx"`);
    await queryRunner.query(`DROP INDEX "public"."agent_activations_status_idx"`);
    await queryRunner.query(`DROP TABLE "agent_activations"`);
  }
}
