import { Injectable } from '@nestjs/common';
import { Sql } from '../database/sql';

/** The readiness probe's one statement. */
@Injectable()
export class HealthRepository {
  constructor(private readonly sql: Sql) {}

  /** A round trip to PostgreSQL over the pool. */
  async ping(): Promise<void> {
    await this.sql.rows('SELECT 1');
  }
}
