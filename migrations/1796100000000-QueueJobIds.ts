import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Jobs keyed by what they are for (outbox_messages.job_id, see jobIdFor), and the queued test
 * runs in the order the sweep that re-enqueues lost jobs reads them.
 */
export class QueueJobIds1796100000000 implements MigrationInterface {
  name = 'QueueJobIds1796100000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "outbox_messages" ADD "job_id" character varying(200)`);
    await queryRunner.query(
      `CREATE INDEX "test_runs_queued_idx" ON "test_runs"  ("created_at", "id") WHERE status = 'queued'`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."test_runs_queued_idx"`);
    await queryRunner.query(`ALTER TABLE "outbox_messages" DROP COLUMN "job_id"`);
  }
}
