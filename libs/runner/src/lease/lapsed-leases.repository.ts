import { Sql } from '@app/core';

/** Rows of one table whose lease (`locked_until`) ran out while their status says they run. */
export interface LapsedRows {
  /** The table (a constant: it is written into the SQL). */
  table: string;
  /** The status of a running row, 'running' or 'in_progress' (a constant: the partial lease indexes match it). */
  running: string;
  /** Rows looked at per pass. */
  limit: number;
}

/**
 * One sweep pass over rows whose worker stopped renewing their lease, the longest lapsed first:
 * `act` ends or resumes each (under its own lock: another worker's sweep may act first) and says
 * whether it did; returns how many it did.
 */
export async function sweepLapsed(
  sql: Pick<Sql, 'rows'>,
  rows: LapsedRows,
  act: (id: string) => Promise<boolean>,
): Promise<number> {
  const lapsed = await sql.rows<{ id: string }>(
    `SELECT id FROM ${rows.table} WHERE status = '${rows.running}' AND locked_until < now() ORDER BY locked_until LIMIT $1`,
    [rows.limit],
  );
  let n = 0;
  for (const { id } of lapsed) if (await act(id)) n++;
  return n;
}
