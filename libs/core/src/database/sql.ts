import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { Conditions } from './sql-list';

/**
 * Plain parameterised SQL on TypeORM's own pg pool, for hot read paths. TypeORM's query builder
 * rebuilds and re-escapes its SQL and maps columns on every call (~90 µs a request measured on
 * GET /users/{id}); a prepared text with a hand-written mapper costs a fraction of that.
 * Writes stay in TypeORM transactions (UnitOfWork).
 */
@Injectable()
export class Sql {
  private pool: Pool | null = null;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async rows<T>(text: string, values: unknown[] = []): Promise<T[]> {
    this.pool ??= (this.dataSource.driver as unknown as { master: Pool }).master;
    return (await this.pool.query(text, values)).rows as T[];
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
}
