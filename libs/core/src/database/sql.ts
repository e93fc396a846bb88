import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Pool } from 'pg';
import { DataSource } from 'typeorm';

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
}
