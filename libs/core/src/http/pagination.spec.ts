import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { MAX_PAGE_SIZE, PageQueryDto, pageOf, skipTake } from './pagination';

describe('skipTake', () => {
  it('starts the first page at offset 0', () => {
    expect(skipTake({ page: 1, pageSize: 20 })).toEqual({ skip: 0, take: 20 });
  });

  it('skips the earlier pages', () => {
    expect(skipTake({ page: 3, pageSize: 10 })).toEqual({ skip: 20, take: 10 });
  });
});

describe('pageOf', () => {
  it('describes an empty result as zero pages with nothing before or after', () => {
    expect(pageOf([], 0, { page: 1, pageSize: 20 })).toEqual({
      data: [],
      pagination: {
        page: 1,
        pageSize: 20,
        totalItems: 0,
        totalPages: 0,
        hasNextPage: false,
        hasPrevPage: false,
      },
    });
  });

  it('counts a partial last page', () => {
    const { pagination } = pageOf(['a'], 45, { page: 3, pageSize: 20 });
    expect(pagination).toEqual({
      page: 3,
      pageSize: 20,
      totalItems: 45,
      totalPages: 3,
      hasNextPage: false,
      hasPrevPage: true,
    });
  });

  it('has pages on both sides in the middle', () => {
    const { pagination } = pageOf(['a'], 45, { page: 2, pageSize: 20 });
    expect(pagination.hasNextPage).toBe(true);
    expect(pagination.hasPrevPage).toBe(true);
  });

  it('adds no empty page when the total is an exact multiple of the page size', () => {
    expect(pageOf([], 40, { page: 1, pageSize: 20 }).pagination).toMatchObject({
      totalPages: 2,
      hasNextPage: true,
      hasPrevPage: false,
    });
    expect(pageOf([], 40, { page: 2, pageSize: 20 }).pagination).toMatchObject({
      totalPages: 2,
      hasNextPage: false,
      hasPrevPage: true,
    });
  });

  it('makes one page of a result smaller than a page', () => {
    expect(pageOf([1, 2, 3], 3, { page: 1, pageSize: 20 }).pagination).toMatchObject({
      totalPages: 1,
      hasNextPage: false,
      hasPrevPage: false,
    });
  });

  it('reports no next page past the end', () => {
    expect(pageOf([], 40, { page: 5, pageSize: 20 }).pagination).toMatchObject({
      page: 5,
      totalPages: 2,
      hasNextPage: false,
      hasPrevPage: true,
    });
  });

  it('returns the data it is given untouched', () => {
    const data = [{ id: 1 }, { id: 2 }];
    expect(pageOf(data, 2, { page: 1, pageSize: 2 }).data).toBe(data);
  });

  it.each([0, 1, 6, 7, 8, 49])('walks %i items page by page with skipTake, seeing each once', (total) => {
    const items = Array.from({ length: total }, (_, i) => i);
    const pageSize = 7;
    const seen: number[] = [];
    let pages = 0;
    for (let page = 1; ; page++) {
      const { skip, take } = skipTake({ page, pageSize });
      const result = pageOf(items.slice(skip, skip + take), total, { page, pageSize });
      seen.push(...result.data);
      pages = result.pagination.totalPages;
      if (!result.pagination.hasNextPage) break;
    }
    expect(seen).toEqual(items);
    expect(pages).toBe(Math.ceil(total / pageSize));
  });
});

describe('PageQueryDto', () => {
  const parse = (query: Record<string, string>) => {
    const dto = plainToInstance(PageQueryDto, query);
    return { dto, errors: validateSync(dto).map((e) => e.property) };
  };

  it('defaults to the first page of 20, newest first', () => {
    const { dto, errors } = parse({});
    expect(errors).toEqual([]);
    expect(dto).toMatchObject({ page: 1, pageSize: 20, sortOrder: 'desc' });
  });

  it('turns query strings into numbers', () => {
    const { dto, errors } = parse({ page: '3', pageSize: String(MAX_PAGE_SIZE), sortOrder: 'asc' });
    expect(errors).toEqual([]);
    expect(dto).toMatchObject({ page: 3, pageSize: 100, sortOrder: 'asc' });
  });

  it('refuses page 0, a page size over 100 and an unknown sort order', () => {
    expect(parse({ page: '0', pageSize: '101', sortOrder: 'sideways' }).errors.sort()).toEqual([
      'page',
      'pageSize',
      'sortOrder',
    ]);
  });

  it('refuses non-integers', () => {
    expect(parse({ page: '1.5', pageSize: 'ten' }).errors.sort()).toEqual(['page', 'pageSize']);
  });
});
