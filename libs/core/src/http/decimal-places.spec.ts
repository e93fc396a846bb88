import { validateSync } from 'class-validator';
import { AtMostTwoDecimals } from './decimal-places';

class Amount {
  @AtMostTwoDecimals()
  usd: unknown;
}

const errorsFor = (usd: unknown) => validateSync(Object.assign(new Amount(), { usd })).length;

describe('AtMostTwoDecimals', () => {
  it('accepts integers and up to two decimals', () => {
    expect([0, 5, 12.5, 0.01, 199.99, -3.25].map(errorsFor)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('refuses more decimals, exponent forms (without throwing) and non-numbers', () => {
    expect([0.001, 2e-323, 5e-324, 1e21, '1', null].map(errorsFor)).toEqual([1, 1, 1, 1, 1, 1]);
  });
});
