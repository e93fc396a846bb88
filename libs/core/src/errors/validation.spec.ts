import 'reflect-metadata';
import { Type } from 'class-transformer';
import {
  IsEmail,
  IsNotEmpty,
  IsString,
  MinLength,
  ValidateNested,
  ValidationError,
  validateSync,
} from 'class-validator';
import { ErrorCode } from './error-code';
import { flattenValidationErrors, validationException } from './validation';

function error(
  property: string,
  constraints?: Record<string, string>,
  children: ValidationError[] = [],
): ValidationError {
  return Object.assign(new ValidationError(), { property, constraints, children });
}

describe('flattenValidationErrors', () => {
  it('returns nothing for no errors', () => {
    expect(flattenValidationErrors([])).toEqual([]);
  });

  it.each([
    ['isEmail', 'invalid_format'],
    ['matches', 'invalid_format'],
    ['minLength', 'min_length'],
    ['maxLength', 'max_length'],
    ['isIn', 'invalid_enum'],
    ['isString', 'invalid_type'],
    ['isInt', 'invalid_type'],
    ['max', 'max_value'],
    ['arrayMinSize', 'min_items'],
    ['isDefined', 'required'],
    ['isNotEmpty', 'required'],
  ])('reports the %s constraint as %s', (constraint, code) => {
    expect(flattenValidationErrors([error('field', { [constraint]: 'the message' })])).toEqual([
      { field: 'field', message: 'the message', code },
    ]);
  });

  it('snake-cases a constraint it has no code for', () => {
    expect(flattenValidationErrors([error('password', { isStrongPassword: 'too weak' })])).toEqual([
      { field: 'password', message: 'too weak', code: 'is_strong_password' },
    ]);
  });

  it('reports an unknown field as unknown_field with its own message', () => {
    expect(
      flattenValidationErrors([
        error('isAdmin', { whitelistValidation: 'property isAdmin should not exist' }),
      ]),
    ).toEqual([{ field: 'isAdmin', message: 'isAdmin is not an accepted field', code: 'unknown_field' }]);
  });

  it('reports one error per field', () => {
    const fields = flattenValidationErrors([
      error('username', { minLength: 'too short', matches: 'bad characters', isString: 'not a string' }),
    ]);
    expect(fields).toHaveLength(1);
  });

  it.each([
    [{ isNotEmpty: 'email should not be empty', isEmail: 'email must be an email' }],
    [{ isEmail: 'email must be an email', isNotEmpty: 'email should not be empty' }],
  ])('prefers a required constraint over the others, wherever it is (%o)', (constraints) => {
    expect(flattenValidationErrors([error('email', constraints)])).toEqual([
      { field: 'email', message: 'email should not be empty', code: 'required' },
    ]);
  });

  it('names nested fields with dots', () => {
    expect(
      flattenValidationErrors([
        error('owner', undefined, [error('address', undefined, [error('city', { isString: 'bad city' })])]),
      ]),
    ).toEqual([{ field: 'owner.address.city', message: 'bad city', code: 'invalid_type' }]);
  });

  it('names array elements with brackets', () => {
    expect(
      flattenValidationErrors([
        error('items', undefined, [
          error('0', undefined, [error('name', { minLength: 'name too short' })]),
          error('2', undefined, [error('tags', undefined, [error('1', { isString: 'tag not a string' })])]),
        ]),
      ]),
    ).toEqual([
      { field: 'items[0].name', message: 'name too short', code: 'min_length' },
      { field: 'items[2].tags[1]', message: 'tag not a string', code: 'invalid_type' },
    ]);
  });

  it('reports both a field and its children when both fail', () => {
    expect(
      flattenValidationErrors([
        error('settings', { isObject: 'settings must be an object' }, [error('x', { isInt: 'x bad' })]),
      ]),
    ).toEqual([
      { field: 'settings', message: 'settings must be an object', code: 'invalid_type' },
      { field: 'settings.x', message: 'x bad', code: 'invalid_type' },
    ]);
  });

  describe('on real class-validator output', () => {
    class Member {
      @IsString()
      @MinLength(3)
      name: string;
    }

    class CreateTeam {
      @IsString()
      @MinLength(8)
      code: string;

      @IsNotEmpty()
      @IsEmail()
      contact: string;

      @ValidateNested({ each: true })
      @Type(() => Member)
      members: Member[];
    }

    const team = Object.assign(new CreateTeam(), {
      code: 12345,
      contact: '',
      members: [Object.assign(new Member(), { name: 'Ann' }), Object.assign(new Member(), { name: 'x' })],
      role: 'admin',
    });
    const fields = flattenValidationErrors(
      validateSync(team, { whitelist: true, forbidNonWhitelisted: true }),
    );

    it('reports the first rule as written in the DTO for a field breaking several', () => {
      expect(fields).toContainEqual({
        field: 'code',
        message: 'code must be a string',
        code: 'invalid_type',
      });
    });

    it('reports a missing value as required', () => {
      expect(fields).toContainEqual({
        field: 'contact',
        message: 'contact should not be empty',
        code: 'required',
      });
    });

    it('points into arrays of nested objects', () => {
      expect(fields).toContainEqual({
        field: 'members[1].name',
        message: 'name must be longer than or equal to 3 characters',
        code: 'min_length',
      });
    });

    it('reports a forbidden extra property as unknown_field', () => {
      expect(fields).toContainEqual({
        field: 'role',
        message: 'role is not an accepted field',
        code: 'unknown_field',
      });
    });

    it('reports nothing else', () => {
      expect(fields.map((f) => f.field).sort()).toEqual(['code', 'contact', 'members[1].name', 'role']);
    });
  });
});

describe('validationException', () => {
  it('is a 422 VALIDATION_ERROR listing the fields', () => {
    const exception = validationException([error('email', { isEmail: 'email must be an email' })]);
    expect(exception.status).toBe(422);
    expect(exception.code).toBe(ErrorCode.ValidationError);
    expect(exception.details).toEqual({
      fields: [{ field: 'email', message: 'email must be an email', code: 'invalid_format' }],
    });
  });
});
