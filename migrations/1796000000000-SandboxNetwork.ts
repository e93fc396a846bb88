import { MigrationInterface, QueryRunner } from 'typeorm';

/** A pipeline's outbound network choice, copied onto each build when it is triggered. */
export class SandboxNetwork1796000000000 implements MigrationInterface {
  name = 'SandboxNetwork1796000000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "pipelines" ADD "network" character varying(16) NOT NULL DEFAULT 'none'`,
    );
    await queryRunner.query(
      `ALTER TABLE "builds" ADD "network" character varying(16) NOT NULL DEFAULT 'none'`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "builds" DROP COLUMN "network"`);
    await queryRunner.query(`ALTER TABLE "pipelines" DROP COLUMN "network"`);
  }
}
