// The engine's derived fields at ingest (engine/enrich.ts): the country from the address, and
// `geoip: false` asking for none and `storeIp: false` keeping the address out even under
// STORE_IP, neither flag being stored.

import { describe, expect, test } from 'bun:test';
import { type BaseEvent, ManualClock } from '../../src/core/index.ts';
import type { CountryLookup } from '../../src/engine/country-db.ts';
import { Enricher, type SaltCatalog } from '../../src/engine/enrich.ts';

const salts = new Map<string, string>();
const catalog: SaltCatalog = {
  loadSalt: (day) => salts.get(day) ?? null,
  saveSalt: (day, salt) => void salts.set(day, salt),
};
/** Every address is in Germany: what the enricher asks is the subject, not the database. */
const countries: CountryLookup = { countryOf: (ip) => (ip === null ? null : 'DE') };
const T = Date.parse('2026-11-25T10:00:00Z');

const event = (extra: Partial<BaseEvent> = {}): BaseEvent => ({
  event_id: 'e1',
  tenant: 't',
  name: 'page_view',
  timestamp: T,
  received_at: T,
  user_id: 'u1',
  anonymous_id: null,
  session_id: null,
  source: null,
  path: '/',
  referrer: null,
  url: null,
  user_agent: null,
  ip: '198.51.100.1',
  duration: null,
  value: null,
  properties: null,
  ...extra,
});

describe('Enricher', () => {
  const enricher = new Enricher(catalog, new ManualClock(T), false, countries);

  test("an event's country is its address's; the address is then dropped", () => {
    const stored = enricher.enrich(event());
    expect(stored.country).toBe('DE');
    expect(stored.ip).toBeNull();
  });

  test('geoip false: no country, and the flag is not part of the stored event', () => {
    const stored = enricher.enrich(event({ geoip: false }));
    expect(stored.country).toBeNull();
    expect('geoip' in stored).toBe(false);
    expect(JSON.stringify(stored)).not.toContain('geoip');
  });

  test('storeIp false: located and hashed, not kept under STORE_IP; the flag is not stored', () => {
    const keeping = new Enricher(catalog, new ManualClock(T), true, countries);
    const anonymous = { user_id: null };
    expect(keeping.enrich(event(anonymous)).ip).toBe('198.51.100.1');
    const stored = keeping.enrich(event({ ...anonymous, storeIp: false }));
    expect(stored.ip).toBeNull();
    expect(stored.country).toBe('DE');
    const other = keeping.enrich(event({ ...anonymous, ip: '198.51.100.2', storeIp: false }));
    expect(stored.visitor_id).toBe(keeping.enrich(event(anonymous)).visitor_id);
    expect(other.visitor_id).not.toBe(stored.visitor_id);
    expect(JSON.stringify(stored)).not.toContain('storeIp');
  });
});
