import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { DatabasePool } from './database-pool';
import { Conditions } from './sql-list';

/**
 * Plain parameterised SQL, the one way repositories reach PostgreSQL outside TypeORM's entity API.
 * Without a manager a statement runs straight on the pool (the hot read paths: TypeORM's query
 * builder rebuilds and re-escapes its SQL and maps columns on every call, ~90 µs a request measured
 * on GET /users/{id}; a prepared text with a hand-written mapper costs a fraction of that). With a
 * transaction's manager (Tx.manager) it runs inside that transaction. Either way the answer has one
 * shape: rows, or the number of rows a write touched.
 */
@Injectable()
export class Sql {
  constructor(private readonly database: DatabasePool) {}

  /** The rows of a statement (a SELECT, or a write with RETURNING). */
  async rows<T>(text: string, values: unknown[] = [], manager?: EntityManager): Promise<T[]> {
    return (await this.run<T>(text, values, manager)).rows;
  }

  /** The first row, or undefined. */
  async one<T>(text: string, values: unknown[] = [], manager?: EntityManager): Promise<T | undefined> {
    return (await this.run<T>(text, values, manager)).rows[0];
  }

  /** Runs a write; the number of rows it touched. */
  async exec(text: string, values: unknown[] = [], manager?: EntityManager): Promise<number> {
    return (await this.run(text, values, manager)).count;
  }

  /**
   * One page of a list (`page`: its ORDER BY, LIMIT and OFFSET, see pageClause) and the number of
   * rows over the same FROM and conditions, both at once. `total`, when given, stands for the
   * count (a module that keeps counters).
   */
  async page<T>(
    select: string,
    from: string,
    where: Conditions,
    page: string,
    total?: Promise<number>,
  ): Promise<{ rows: T[]; total: number }> {
    const [rows, count] = await Promise.all([
      this.rows<T>(`SELECT ${select} ${from} ${where.sql} ${page}`, where.values),
      total ??
        this.rows<{ n: string }>(`SELECT count(*) AS n ${from} ${where.sql}`, where.values).then(([r]) =>
          Number(r.n),
        ),
    ]);
    return { rows, total: count };
  }

  private async run<T>(
    text: string,
    values: unknown[],
    manager: EntityManager | undefined,
  ): Promise<{ rows: T[]; count: number }> {
    if (!manager) {
      const result = await this.database.pool.query(text, values);
      return { rows: result.rows as T[], count: result.rowCount ?? 0 };
    }
    // A transaction's manager carries its query runner; its structured result has one shape for
    // every command (manager.query answers [rows, count] for UPDATE/DELETE and rows otherwise).
    const runner = manager.queryRunner;
    if (!runner) return { rows: (await manager.query(text, values)) as T[], count: 0 };
    const result = await runner.query(text, values, true);
    return { rows: (result.records ?? []) as T[], count: result.affected ?? 0 };
  }
}
