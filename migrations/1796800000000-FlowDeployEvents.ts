import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Flows deploy their merged commit, merge each of their changes in turn, and keep their own events (ids from the activations' event
 * sequence, so one stream interleaves both); a flow's activations are found by an index.
 */
export class FlowDeployEvents1796800000000 implements MigrationInterface {
  name = 'FlowDeployEvents1796800000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "flows" ADD "deploy_to" jsonb`);
    await queryRunner.query(`ALTER TABLE "flows" ADD "deployment" jsonb`);
    await queryRunner.query(`ALTER TABLE "flows" ADD "merging_change_id" character varying(40)`);
    await queryRunner.query(`UPDATE "flows" SET "merging_change_id" = "change_id" WHERE "merge_requested"`);
    await queryRunner.query(`ALTER TABLE "flows" DROP COLUMN "merge_requested"`);
    await queryRunner.query(
      `CREATE TABLE "flow_events" ("id" bigint NOT NULL, "flow_id" character varying(40) NOT NULL, "type" character varying(16) NOT NULL, "data" jsonb NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_flow_events" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "flow_events_flow_idx" ON "flow_events" ("flow_id", "id") `);
    await queryRunner.query(
      `ALTER TABLE "flow_events" ADD CONSTRAINT "flow_events_flow_fk" FOREIGN KEY ("flow_id") REFERENCES "flows"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `CREATE INDEX "agent_activations_flow_idx" ON "agent_activations" ("flow_id") WHERE flow_id IS NOT NULL`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."agent_activations_flow_idx"`);
    await queryRunner.query(`ALTER TABLE "flow_events" DROP CONSTRAINT "flow_events_flow_fk"`);
    await queryRunner.query(`DROP INDEX "public"."flow_events_flow_idx"`);
    await queryRunner.query(`DROP TABLE "flow_events"`);
    await queryRunner.query(`ALTER TABLE "flows" ADD "merge_requested" boolean NOT NULL DEFAULT false`);
    await queryRunner.query(`UPDATE "flows" SET "merge_requested" = "merging_change_id" IS NOT NULL`);
    await queryRunner.query(`ALTER TABLE "flows" DROP COLUMN "merging_change_id"`);
    await queryRunner.query(`ALTER TABLE "flows" DROP COLUMN "deployment"`);
    await queryRunner.query(`ALTER TABLE "flows" DROP COLUMN "deploy_to"`);
  }
}
