import { describe, expect, test } from 'bun:test';
import { eventLimits, normalizeEvent, type RequestContext } from '../../src/core/index.ts';

const NOW = Date.parse('2026-11-25T12:00:00Z');
const ctx: RequestContext = {
  receivedAt: NOW,
  userAgent: 'Mozilla/5.0',
  ip: '203.0.113.9',
  keepIp: false,
  newEventId: () => 'generated-id',
};

describe('normalizeEvent', () => {
  test('fills defaults from the request', () => {
    const r = normalizeEvent({ name: 'signup' }, 'acme', ctx, ['body']);
    expect(r).toEqual({
      ok: true,
      event: expect.objectContaining({
        event_id: 'generated-id',
        tenant: 'acme',
        name: 'signup',
        timestamp: NOW,
        received_at: NOW,
        user_agent: 'Mozilla/5.0',
        properties: null,
      }),
    });
  });

  test('takes the client IP from the request when the body has none', () => {
    const r = normalizeEvent({ name: 'x' }, 'acme', ctx, ['body']);
    expect(r.ok && r.event.ip).toBe('203.0.113.9');
    const own = normalizeEvent({ name: 'x', ip: '198.51.100.1' }, 'acme', ctx, ['body']);
    expect(own.ok && own.event.ip).toBe('198.51.100.1');
  });

  test('an empty or blank ip in the body is no address: the request gives it', () => {
    // Kept as "", every such visitor with one user agent would be one visitor_id that day.
    for (const ip of ['', '   ']) {
      const r = normalizeEvent({ name: 'x', ip }, 'acme', ctx, ['body']);
      expect(r.ok && r.event.ip).toBe('203.0.113.9');
    }
  });

  test('reads the client IP only when the event keeps it or needs it for visitor_id', () => {
    let reads = 0;
    const counting = (keepIp: boolean): RequestContext => ({
      ...ctx,
      keepIp,
      get ip() {
        reads++;
        return '203.0.113.9';
      },
    });
    const known = normalizeEvent({ name: 'x', user_id: 'u1' }, 'acme', counting(false), ['body']);
    expect(known.ok && known.event.ip).toBeNull();
    const anonymous = normalizeEvent(
      { name: 'x', anonymous_id: 'a1' },
      'acme',
      counting(false),
      [],
    );
    expect(anonymous.ok && anonymous.event.ip).toBeNull();
    expect(reads).toBe(0);
    const kept = normalizeEvent({ name: 'x', user_id: 'u1' }, 'acme', counting(true), ['body']);
    expect(kept.ok && kept.event.ip).toBe('203.0.113.9');
    const hashed = normalizeEvent({ name: 'x', user_id: '' }, 'acme', counting(false), ['body']);
    expect(hashed.ok && hashed.event.ip).toBe('203.0.113.9');
    expect(reads).toBe(2);
  });

  test('derives path from url', () => {
    const r = normalizeEvent(
      { name: 'page_view', url: 'https://a.example/pricing?x=1' },
      'acme',
      ctx,
      [],
    );
    expect(r.ok && r.event.path).toBe('/pricing');
  });

  test('a path derived from a url is held to the path limit, cut where a character ends', () => {
    const pathOf = (url: string) => {
      const r = normalizeEvent({ name: 'page_view', url }, 'acme', ctx, []);
      return r.ok ? r.event.path : undefined;
    };
    // A url within its limit: each 'é' is percent-encoded to six characters ("%C3%A9").
    const accents = pathOf(`https://a.example/${'é'.repeat(2000)}`) as string;
    expect(accents.length).toBeLessThanOrEqual(eventLimits.urlCharsMax);
    expect(decodeURIComponent(accents)).toBe(`/${'é'.repeat(341)}`);
    // Every cut point lands on a whole character: never within "%F0%9F%98%80", nor in "%XX".
    for (let pad = 0; pad < 12; pad++) {
      const path = pathOf(`https://a.example/${'a'.repeat(pad)}${'😀'.repeat(1000)}`) as string;
      expect(path.length).toBeGreaterThan(eventLimits.urlCharsMax - 12);
      expect(path.length).toBeLessThanOrEqual(eventLimits.urlCharsMax);
      expect(decodeURIComponent(path)).toMatch(/^\/a*(😀)+$/u);
    }
    const ascii = `/${'a'.repeat(3000)}`;
    expect(pathOf(`https://a.example${ascii}`)).toBe(ascii.slice(0, eventLimits.urlCharsMax));
  });

  test('refuses timestamps more than 24 h ahead, accepts any past time', () => {
    const ahead = normalizeEvent({ name: 'x', timestamp: NOW + 24 * 3600_000 + 1 }, 'acme', ctx, [
      'body',
    ]);
    expect(ahead).toEqual({
      ok: false,
      issues: [
        {
          loc: ['body', 'timestamp'],
          msg: expect.stringContaining('24 hours'),
          type: 'datetime_future',
        },
      ],
    });
    expect(normalizeEvent({ name: 'x', timestamp: NOW + 24 * 3600_000 }, 'acme', ctx, []).ok).toBe(
      true,
    );
    expect(
      normalizeEvent({ name: 'x', timestamp: '1999-12-31T23:59:59Z' }, 'acme', ctx, []).ok,
    ).toBe(true);
  });

  test('limits properties by key count and size', () => {
    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, i]));
    const r1 = normalizeEvent({ name: 'x', properties: many }, 'acme', ctx, ['body', 'events', 2]);
    expect(r1.ok ? [] : r1.issues.map((i) => i.loc)).toEqual([['body', 'events', 2, 'properties']]);
    const big = normalizeEvent(
      { name: 'x', properties: { blob: 'x'.repeat(9000) } },
      'acme',
      ctx,
      [],
    );
    expect(big.ok).toBe(false);
  });
});
