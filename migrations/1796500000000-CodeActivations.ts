import { MigrationInterface, QueryRunner } from 'typeorm';

/** Code activations (the code agents on the project's repository): their workflow and the branch ordinal. */
export class CodeActivations1796500000000 implements MigrationInterface {
  name = 'CodeActivations1796500000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "agent_activations" ADD "workflow" character varying(16) NOT NULL DEFAULT 'document'`,
    );
    await queryRunner.query(`ALTER TABLE "agent_activations" ADD "num_turns" integer NOT NULL DEFAULT '0'`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "agent_activations" DROP COLUMN "num_turns"`);
    await queryRunner.query(`ALTER TABLE "agent_activations" DROP COLUMN "workflow"`);
  }
}
