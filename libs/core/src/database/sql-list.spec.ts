import { Conditions, containsPattern, pageClause } from './sql-list';

describe('list query helpers', () => {
  it('numbers the values in the order they are bound, across conditions', () => {
    const where = new Conditions()
      .and((v) => `t.project_id = ${v('prj_1')}`)
      .and('t.deleted_at IS NULL')
      .and((v) => `(t.title ILIKE ${v('%a%')} OR t.description ILIKE ${v('%a%')})`);
    expect(where.sql).toBe(
      'WHERE t.project_id = $1 AND t.deleted_at IS NULL AND (t.title ILIKE $2 OR t.description ILIKE $3)',
    );
    expect(where.values).toEqual(['prj_1', '%a%', '%a%']);
  });

  it('has no WHERE without conditions', () => {
    expect(new Conditions().sql).toBe('');
    expect(new Conditions().values).toEqual([]);
  });

  it('takes %, _ and \\ in a search literally', () => {
    expect(containsPattern('50%_off\\')).toBe('%50\\%\\_off\\\\%');
  });

  it('orders by the column then the id, and pages', () => {
    expect(pageClause({ page: 3, pageSize: 20, sortOrder: 'asc' }, 'b.created_at', 'b.id')).toBe(
      'ORDER BY b.created_at ASC, b.id ASC LIMIT 20 OFFSET 40',
    );
    expect(pageClause({ page: 1, pageSize: 5, sortOrder: 'desc' }, 'created_at', 'id')).toBe(
      'ORDER BY created_at DESC, id DESC LIMIT 5 OFFSET 0',
    );
  });
});
