import { MigrationInterface, QueryRunner } from 'typeorm';

export class ProjectsAndTasks1795769323979 implements MigrationInterface {
  name = 'ProjectsAndTasks1795769323979';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "projects" ("id" character varying(40) NOT NULL, "name" character varying(200) NOT NULL, "key" character varying(10) NOT NULL, "description" text, "owner_id" character varying(40) NOT NULL, "status" character varying(16) NOT NULL DEFAULT 'active', "visibility" character varying(16) NOT NULL DEFAULT 'private', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "archived_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_6271df0a7aed1d6c0691ce6ac50" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "projects_owner_idx" ON "projects"  ("owner_id") `);
    await queryRunner.query(`CREATE UNIQUE INDEX "projects_key_key" ON "projects"  ("key") `);
    await queryRunner.query(
      `CREATE TABLE "project_members" ("project_id" character varying(40) NOT NULL, "user_id" character varying(40) NOT NULL, "role" character varying(16) NOT NULL, "added_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_b3f491d3a3f986106d281d8eb4b" PRIMARY KEY ("project_id", "user_id"))`,
    );
    await queryRunner.query(`CREATE INDEX "project_members_user_idx" ON "project_members"  ("user_id") `);
    await queryRunner.query(
      `CREATE TABLE "project_stats" ("project_id" character varying(40) NOT NULL, "total_tasks" integer NOT NULL DEFAULT '0', "completed_tasks" integer NOT NULL DEFAULT '0', "total_prds" integer NOT NULL DEFAULT '0', "total_deployments" integer NOT NULL DEFAULT '0', CONSTRAINT "PK_0d3c6b0e20a78a4db32414bfdca" PRIMARY KEY ("project_id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "task_counters" ("project_id" character varying(40) NOT NULL, "last_number" integer NOT NULL, CONSTRAINT "PK_e77f36353f3d5b5eea5639eb6ba" PRIMARY KEY ("project_id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "task_status_counts" ("project_id" character varying(40) NOT NULL, "status" character varying(16) NOT NULL, "count" integer NOT NULL, CONSTRAINT "PK_2ae14d03d82703133fe7d4566bc" PRIMARY KEY ("project_id", "status"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "tasks" ("id" character varying(40) NOT NULL, "project_id" character varying(40) NOT NULL, "number" integer NOT NULL, "key" character varying(24) NOT NULL, "type" character varying(16) NOT NULL, "title" character varying(500) NOT NULL, "description" text, "status" character varying(16) NOT NULL, "assignee_id" character varying(40), "reporter_id" character varying(40), "priority" character varying(16) NOT NULL, "story_points" numeric(8,2), "parent_task_id" character varying(40), "labels" text array NOT NULL DEFAULT '{}', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_8d12ff38fcc62aaba2cab748772" PRIMARY KEY ("id"))`,
    );
    // Label filter (labels @> ARRAY[...]) without a scan.
    await queryRunner.query(`CREATE INDEX "tasks_labels_idx" ON "tasks" USING GIN ("labels")`);
    await queryRunner.query(`CREATE INDEX "tasks_parent_idx" ON "tasks"  ("parent_task_id") `);
    await queryRunner.query(
      `CREATE INDEX "tasks_project_assignee_idx" ON "tasks"  ("project_id", "assignee_id") `,
    );
    await queryRunner.query(
      `CREATE INDEX "tasks_project_status_created_idx" ON "tasks"  ("project_id", "status", "created_at", "id") `,
    );
    await queryRunner.query(
      `CREATE INDEX "tasks_project_created_idx" ON "tasks"  ("project_id", "created_at", "id") `,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "tasks_project_number_key" ON "tasks"  ("project_id", "number") `,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "tasks_key_key" ON "tasks"  ("key") `);
    await queryRunner.query(
      `CREATE TABLE "task_history" ("id" BIGSERIAL NOT NULL, "task_id" character varying(40) NOT NULL, "field" character varying(32) NOT NULL, "from_value" jsonb, "to_value" jsonb, "comment" text, "changed_by" character varying(40), "changed_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_716670443aea4a2f4a599bb7c53" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "task_history_task_idx" ON "task_history"  ("task_id", "id") `);
    await queryRunner.query(
      `ALTER TABLE "projects" ADD CONSTRAINT "projects_owner_fk" FOREIGN KEY ("owner_id") REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "project_members" ADD CONSTRAINT "project_members_project_fk" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "project_members" ADD CONSTRAINT "project_members_user_fk" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "project_stats" ADD CONSTRAINT "project_stats_project_fk" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "tasks" ADD CONSTRAINT "tasks_project_fk" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "tasks" ADD CONSTRAINT "tasks_assignee_fk" FOREIGN KEY ("assignee_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "tasks" ADD CONSTRAINT "tasks_reporter_fk" FOREIGN KEY ("reporter_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "tasks" ADD CONSTRAINT "tasks_parent_fk" FOREIGN KEY ("parent_task_id") REFERENCES "tasks"("id") ON DELETE SET NULL ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "task_history" ADD CONSTRAINT "task_history_task_fk" FOREIGN KEY ("task_id") REFERENCES "tasks"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "task_history" DROP CONSTRAINT "task_history_task_fk"`);
    await queryRunner.query(`ALTER TABLE "tasks" DROP CONSTRAINT "tasks_parent_fk"`);
    await queryRunner.query(`ALTER TABLE "tasks" DROP CONSTRAINT "tasks_reporter_fk"`);
    await queryRunner.query(`ALTER TABLE "tasks" DROP CONSTRAINT "tasks_assignee_fk"`);
    await queryRunner.query(`ALTER TABLE "tasks" DROP CONSTRAINT "tasks_project_fk"`);
    await queryRunner.query(`ALTER TABLE "project_stats" DROP CONSTRAINT "project_stats_project_fk"`);
    await queryRunner.query(`ALTER TABLE "project_members" DROP CONSTRAINT "project_members_user_fk"`);
    await queryRunner.query(`ALTER TABLE "project_members" DROP CONSTRAINT "project_members_project_fk"`);
    await queryRunner.query(`ALTER TABLE "projects" DROP CONSTRAINT "projects_owner_fk"`);
    await queryRunner.query(`DROP INDEX "public"."task_history_task_idx"`);
    await queryRunner.query(`DROP TABLE "task_history"`);
    await queryRunner.query(`DROP INDEX "public"."tasks_key_key"`);
    await queryRunner.query(`DROP INDEX "public"."tasks_project_number_key"`);
    await queryRunner.query(`DROP INDEX "public"."tasks_project_created_idx"`);
    await queryRunner.query(`DROP INDEX "public"."tasks_project_status_created_idx"`);
    await queryRunner.query(`DROP INDEX "public"."tasks_project_assignee_idx"`);
    await queryRunner.query(`DROP INDEX "public"."tasks_parent_idx"`);
    await queryRunner.query(`DROP INDEX "public"."tasks_labels_idx"`);
    await queryRunner.query(`DROP TABLE "tasks"`);
    await queryRunner.query(`DROP TABLE "task_status_counts"`);
    await queryRunner.query(`DROP TABLE "task_counters"`);
    await queryRunner.query(`DROP TABLE "project_stats"`);
    await queryRunner.query(`DROP INDEX "public"."project_members_user_idx"`);
    await queryRunner.query(`DROP TABLE "project_members"`);
    await queryRunner.query(`DROP INDEX "public"."projects_key_key"`);
    await queryRunner.query(`DROP INDEX "public"."projects_owner_idx"`);
    await queryRunner.query(`DROP TABLE "projects"`);
  }
}
