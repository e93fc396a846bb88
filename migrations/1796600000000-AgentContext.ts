import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What an activation sees: the task as it was when the agent was activated and the upstream
 * documents it read (ids and versions); documents get versions per task and kind.
 */
export class AgentContext1796600000000 implements MigrationInterface {
  name = 'AgentContext1796600000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "agent_activations" ADD "context" jsonb NOT NULL DEFAULT '{}'`);
    await queryRunner.query(`ALTER TABLE "project_documents" ADD "version" integer NOT NULL DEFAULT '1'`);
    await queryRunner.query(
      `UPDATE project_documents d SET version = v.n
         FROM (SELECT id, row_number() OVER (PARTITION BY project_id, task_id, kind ORDER BY created_at, id) AS n
                 FROM project_documents) v
        WHERE v.id = d.id AND v.n <> 1`,
    );
    await queryRunner.query(
      `CREATE INDEX "project_documents_kind_idx" ON "project_documents" ("project_id", "kind", "created_at") `,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."project_documents_kind_idx"`);
    await queryRunner.query(`ALTER TABLE "project_documents" DROP COLUMN "version"`);
    await queryRunner.query(`ALTER TABLE "agent_activations" DROP COLUMN "context"`);
  }
}
