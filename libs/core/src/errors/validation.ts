import { ValidationError } from 'class-validator';
import { AppError, FieldError } from './app-error';

/** class-validator constraint names -> the seed's field error codes. */
const CODES: Record<string, string> = {
  isDefined: 'required',
  isNotEmpty: 'required',
  isEmail: 'invalid_format',
  isUrl: 'invalid_format',
  matches: 'invalid_format',
  isUUID: 'invalid_format',
  isISO8601: 'invalid_format',
  minLength: 'min_length',
  maxLength: 'max_length',
  arrayMinSize: 'min_items',
  arrayMaxSize: 'max_items',
  min: 'min_value',
  max: 'max_value',
  isIn: 'invalid_enum',
  isEnum: 'invalid_enum',
  isString: 'invalid_type',
  isInt: 'invalid_type',
  isNumber: 'invalid_type',
  isBoolean: 'invalid_type',
  isBooleanString: 'invalid_type',
  isArray: 'invalid_type',
  isObject: 'invalid_type',
  whitelistValidation: 'unknown_field',
  nestedValidation: 'invalid_type',
};

export function flattenValidationErrors(errors: ValidationError[], parent = ''): FieldError[] {
  const out: FieldError[] = [];
  for (const error of errors) {
    const field = parent
      ? /^\d+$/.test(error.property)
        ? `${parent}[${error.property}]`
        : `${parent}.${error.property}`
      : error.property;
    const constraints = error.constraints ?? {};
    // Report one message per field: the first failing rule is the one a person fixes first.
    const names = Object.keys(constraints);
    const required = names.find((n) => CODES[n] === 'required');
    const name = required ?? names[names.length - 1];
    if (name) {
      out.push({
        field,
        message: name === 'whitelistValidation' ? `${field} is not an accepted field` : constraints[name],
        code: CODES[name] ?? name.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase(),
      });
    }
    if (error.children?.length) out.push(...flattenValidationErrors(error.children, field));
  }
  return out;
}

export function validationException(errors: ValidationError[]): AppError {
  return AppError.validation(flattenValidationErrors(errors));
}
