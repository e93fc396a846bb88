import { MigrationInterface, QueryRunner } from 'typeorm';

/** What each activation used, by kind of token, and what it cost (GET /v2/projects/{id}/usage reads
 * them through agent_activations_project_idx). */
export class AgentUsage1796250000000 implements MigrationInterface {
  name = 'AgentUsage1796250000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "agent_activations" ADD "input_tokens" integer NOT NULL DEFAULT 0, ADD "output_tokens" integer NOT NULL DEFAULT 0, ADD "cache_read_tokens" integer NOT NULL DEFAULT 0, ADD "cost_usd" numeric(14,6) NOT NULL DEFAULT 0`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "agent_activations" DROP COLUMN "cost_usd", DROP COLUMN "cache_read_tokens", DROP COLUMN "output_tokens", DROP COLUMN "input_tokens"`,
    );
  }
}
