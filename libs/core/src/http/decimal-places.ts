import { ValidateBy } from 'class-validator';

/**
 * A number with at most two decimal places (story points, amounts in USD). class-validator's own
 * maxDecimalPlaces reads the digits after "." of String(value) and throws a TypeError (a 500) on
 * a number printed in exponent form, such as 1e-323; this refuses such numbers instead.
 */
export function AtMostTwoDecimals() {
  return ValidateBy({
    name: 'maxDecimalPlaces',
    validator: {
      validate: (value: unknown) => typeof value === 'number' && /^-?\d+(\.\d{1,2})?$/.test(String(value)),
      defaultMessage: (args) => `${args?.property ?? 'value'} must have at most 2 decimal places`,
    },
  });
}
