// web/countries.ts: a country code as the dashboard shows it, with its name when there is one.

import { describe, expect, test } from 'bun:test';
import { countryLabel } from '../../web/countries.ts';

describe('countryLabel', () => {
  test('a code with its name in the default language', () => {
    const names = new Intl.DisplayNames(undefined, { type: 'region' });
    expect(countryLabel('DE')).toBe(`${names.of('DE')} (DE)`);
    expect(countryLabel('GB')).toContain('(GB)');
    expect(countryLabel('GB')).not.toBe('GB');
  });

  test('a code without a name, or not a region code, is shown as it is', () => {
    expect(countryLabel('XX')).toBe('XX');
    expect(countryLabel('E1')).toBe('E1');
    expect(countryLabel('')).toBe('');
  });
});
