import { describe, expect, test } from 'bun:test';
import { createHmac } from 'node:crypto';
import {
  DailySalts,
  type SaltStore,
  type VisitorIdInput,
  visitorId,
} from '../../src/engine/visitor-id.ts';

const DAY = 86_400_000;
const D0 = Date.UTC(2024, 2, 10);

const base: VisitorIdInput = {
  tenant: 'acme',
  userId: null,
  anonymousId: null,
  ip: '203.0.113.7',
  userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0',
  salt: 'salt-of-the-day',
};

/** A store in a Map that records its calls. */
function memoryStore(): SaltStore & { loads: string[]; saved: Map<string, string> } {
  const saved = new Map<string, string>();
  const loads: string[] = [];
  return {
    saved,
    loads,
    load: (day) => {
      loads.push(day);
      return saved.get(day) ?? null;
    },
    save: (day, salt) => {
      saved.set(day, salt);
    },
  };
}

describe('visitorId', () => {
  test('prefers user_id, then anonymous_id; empty strings count as absent', () => {
    expect(visitorId({ ...base, userId: 'u1', anonymousId: 'a1' })).toBe('u1');
    expect(visitorId({ ...base, anonymousId: 'a1' })).toBe('a1');
    expect(visitorId({ ...base, userId: '', anonymousId: 'a1' })).toBe('a1');
    expect(visitorId({ ...base, userId: '', anonymousId: '' })).toMatch(/^[0-9a-f]{32}$/);
  });

  test('otherwise HMAC-SHA256 keyed by the salt over tenant\\0ip\\0ua, first 16 bytes', () => {
    const expected = createHmac('sha256', base.salt)
      .update(`acme\0${base.ip}\0${base.userAgent}`)
      .digest('hex')
      .slice(0, 32);
    expect(visitorId(base)).toBe(expected);
    expect(visitorId(base)).toBe(visitorId({ ...base }));
  });

  test('differs by tenant, ip, agent and salt', () => {
    const id = visitorId(base);
    expect(visitorId({ ...base, tenant: 'other' })).not.toBe(id);
    expect(visitorId({ ...base, ip: '203.0.113.8' })).not.toBe(id);
    expect(visitorId({ ...base, userAgent: 'curl/8.4.0' })).not.toBe(id);
    expect(visitorId({ ...base, salt: 'tomorrow' })).not.toBe(id);
  });

  test('the separator keeps field boundaries apart', () => {
    const a = visitorId({ ...base, tenant: 'ab', ip: 'c' });
    const b = visitorId({ ...base, tenant: 'a', ip: 'bc' });
    expect(a).not.toBe(b);
  });

  test('absent ip and agent hash as empty strings', () => {
    expect(visitorId({ ...base, ip: null, userAgent: null })).toBe(
      visitorId({ ...base, ip: '', userAgent: '' }),
    );
  });
});

describe('DailySalts', () => {
  test('one salt per UTC day, saved when created', () => {
    const store = memoryStore();
    let n = 0;
    const salts = new DailySalts(store, () => `salt-${++n}`);
    expect(salts.saltFor(D0 + 1)).toBe('salt-1');
    expect(salts.saltFor(D0 + DAY - 1)).toBe('salt-1');
    expect(salts.saltFor(D0 + DAY)).toBe('salt-2');
    expect([...store.saved]).toEqual([
      ['2024-03-10', 'salt-1'],
      ['2024-03-11', 'salt-2'],
    ]);
  });

  test('a restart reads the day’s salt back from the store', () => {
    const store = memoryStore();
    const first = new DailySalts(store).saltFor(D0);
    const restarted = new DailySalts(store, () => 'must not be used');
    expect(restarted.saltFor(D0 + 5000)).toBe(first);
  });

  test('the default salts are random 32-byte hex strings', () => {
    const a = new DailySalts(memoryStore()).saltFor(D0);
    const b = new DailySalts(memoryStore()).saltFor(D0);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(a).not.toBe(b);
  });

  test('keeps only today and yesterday in memory', () => {
    const store = memoryStore();
    const salts = new DailySalts(store);
    salts.saltFor(D0);
    salts.saltFor(D0 + DAY);
    expect(salts.daysCached).toBe(2);
    salts.saltFor(D0);
    expect(store.loads).toEqual(['2024-03-10', '2024-03-11']);
    salts.saltFor(D0 + 2 * DAY);
    expect(salts.daysCached).toBe(2);
    const dayZero = salts.saltFor(D0);
    expect(store.loads).toEqual(['2024-03-10', '2024-03-11', '2024-03-12', '2024-03-10']);
    expect(dayZero).toBe(store.saved.get('2024-03-10') ?? '');
    expect(salts.daysCached).toBe(2);
  });
});
