import { PageQueryDto } from '../http/pagination';

/** A placeholder for one value: adds it to the statement's values and returns `$n`. */
export type Bind = (value: unknown) => string;

/**
 * The WHERE clause of a list query: conditions joined by AND, their values numbered $1, $2, ... in
 * the order they are bound, so that the same text and values serve the page and its count.
 *
 *   const where = new Conditions().and((v) => `b.pipeline_id = ${v(pipeline.id)}`);
 *   if (query.status) where.and((v) => `b.status = ${v(query.status)}`);
 */
export class Conditions {
  readonly values: unknown[] = [];
  private readonly parts: string[] = [];
  private readonly bind: Bind = (value) => {
    this.values.push(value);
    return `$${this.values.length}`;
  };

  and(condition: string | ((bind: Bind) => string)): this {
    this.parts.push(typeof condition === 'string' ? condition : condition(this.bind));
    return this;
  }

  /** `WHERE a AND b`, or '' when there is no condition. */
  get sql(): string {
    return this.parts.length ? `WHERE ${this.parts.join(' AND ')}` : '';
  }
}

/** An ILIKE pattern matching `text` anywhere, with the user's %, _ and \ taken literally. */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** ORDER BY the sort column, then the id (a stable order across pages), LIMIT and OFFSET of the page. */
export function pageClause(
  query: Pick<PageQueryDto, 'page' | 'pageSize' | 'sortOrder'>,
  column: string,
  id: string,
): string {
  const order = query.sortOrder === 'asc' ? 'ASC' : 'DESC';
  return `ORDER BY ${column} ${order}, ${id} ${order} LIMIT ${query.pageSize} OFFSET ${(query.page - 1) * query.pageSize}`;
}
