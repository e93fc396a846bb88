import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString } from 'class-validator';
import { AppError } from '../errors/app-error';
import { InputValidationPipe } from './input-validation.pipe';

class NameDto {
  @ApiProperty() @IsString() name: string;
  @ApiPropertyOptional({ nullable: true, type: String }) @IsOptional() @IsString() note?: string | null;
}

const pipe = new InputValidationPipe();
const body = { type: 'body' as const, metatype: NameDto, data: undefined };

async function errorOf(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (err) {
    return err as AppError;
  }
  throw new Error('expected the pipe to refuse the value');
}

describe('InputValidationPipe', () => {
  it('answers 404 for a path parameter no id can be', async () => {
    const err = await errorOf(
      pipe.transform('prj_\u0000', { type: 'param', metatype: String, data: 'projectId' }),
    );
    expect(err.code).toBe('NOT_FOUND');
  });

  it('names a query parameter holding a NUL byte', async () => {
    const err = await errorOf(pipe.transform('\u0000', { type: 'query', metatype: String, data: 'search' }));
    expect(err.details).toEqual({
      fields: [
        { field: 'search', message: 'search must not contain NUL characters', code: 'invalid_format' },
      ],
    });
  });

  it.each([null, [], 'text', 3])('refuses a body that is not an object (%p)', async (value) => {
    const err = await errorOf(pipe.transform(value, body));
    expect(err.details).toEqual({
      fields: [{ field: 'body', message: 'The request body must be a JSON object', code: 'invalid_type' }],
    });
  });

  it('refuses null where it is not documented, takes it where it is', async () => {
    const err = await errorOf(pipe.transform({ name: null }, body));
    expect(err.details).toEqual({
      fields: [{ field: 'name', message: 'name must not be null', code: 'invalid_type' }],
    });
    await expect(pipe.transform({ name: 'x', note: null }, body)).resolves.toEqual({ name: 'x', note: null });
  });

  it('validates no body at all as an empty object (required fields named)', async () => {
    const err = await errorOf(pipe.transform(undefined, body));
    expect((err.details.fields as Array<{ field: string }>).map((f) => f.field)).toEqual(['name']);
  });
});
