import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { findBadStrings, findForbiddenNulls, jsonDepth } from './input-checks';

describe('jsonDepth', () => {
  it.each([
    ['1', 0],
    ['{}', 1],
    ['{"a":[1,{"b":[]}]}', 4],
    ['{"a":"[[[[{{{{"}', 1],
    ['{"a":"\\"[[["}', 1],
    ['[[],[],[[]]]', 3],
  ])('%s nests %p deep', (text, depth) => {
    expect(jsonDepth(text)).toBe(depth);
  });

  it('stops counting past the limit', () => {
    expect(jsonDepth('['.repeat(100000), 32)).toBe(33);
  });
});

describe('findBadStrings', () => {
  it('names every string holding a NUL or a lone surrogate, keys included', () => {
    expect(
      findBadStrings({ ok: 'fine 😀', title: 'a\u0000b', tags: ['x', '\ud800'], nested: { e: 'z\udc00' } }),
    ).toEqual([
      { field: 'title', message: 'title must not contain NUL characters', code: 'invalid_format' },
      {
        field: 'tags[1]',
        message: 'tags[1] must not contain unpaired UTF-16 surrogates',
        code: 'invalid_format',
      },
      {
        field: 'nested.e',
        message: 'nested.e must not contain unpaired UTF-16 surrogates',
        code: 'invalid_format',
      },
    ]);
    expect(findBadStrings({ ['k\u0000']: 1 })).toEqual([
      { field: '"k\\u0000"', message: 'field name must not contain NUL characters', code: 'invalid_format' },
    ]);
  });

  it('names a bad top-level value by the parameter it came from', () => {
    expect(findBadStrings('\u0000', 'search')[0].field).toBe('search');
  });
});

describe('findForbiddenNulls', () => {
  class Stage {
    @ApiProperty() name: string;
    @ApiPropertyOptional({ nullable: true, type: String }) note?: string | null;
  }
  class Parent {
    @ApiPropertyOptional() name?: string;
  }
  class Dto extends Parent {
    @ApiPropertyOptional({ nullable: true, type: String }) description?: string | null;
    @ApiPropertyOptional({ type: [Stage] }) stages?: Stage[];
  }

  it('refuses null where the DTO does not document it, inherited and nested properties included', () => {
    expect(
      findForbiddenNulls(
        { name: null, description: null, stages: [{ name: null, note: null }], unknown: null },
        Dto,
      ),
    ).toEqual([
      { field: 'name', message: 'name must not be null', code: 'invalid_type' },
      { field: 'stages[0].name', message: 'stages[0].name must not be null', code: 'invalid_type' },
    ]);
  });

  it('refuses null for a whole nested list', () => {
    expect(findForbiddenNulls({ stages: null }, Dto).map((f) => f.field)).toEqual(['stages']);
  });
});
