import { MigrationInterface, QueryRunner } from 'typeorm';

/** A project's monthly budget for agent activations (USD; null: no limit). */
export class ProjectBudget1796350000000 implements MigrationInterface {
  name = 'ProjectBudget1796350000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "projects" ADD "monthly_budget_usd" numeric(12,2)`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "projects" DROP COLUMN "monthly_budget_usd"`);
  }
}
