import { describe, expect, test } from 'bun:test';
import { normalizeEvent, type RequestContext } from '../../src/core/index.ts';

const NOW = Date.parse('2026-11-25T12:00:00Z');
const ctx: RequestContext = {
  tenant: 'acme',
  receivedAt: NOW,
  userAgent: 'Mozilla/5.0',
  ip: '203.0.113.9',
  newEventId: () => 'generated-id',
};

describe('normalizeEvent', () => {
  test('fills defaults from the request', () => {
    const r = normalizeEvent({ name: 'signup' }, ctx, ['body']);
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
    const r = normalizeEvent({ name: 'x' }, ctx, ['body']);
    expect(r.ok && r.event.ip).toBe('203.0.113.9');
    const own = normalizeEvent({ name: 'x', ip: '198.51.100.1' }, ctx, ['body']);
    expect(own.ok && own.event.ip).toBe('198.51.100.1');
  });

  test('derives path from url', () => {
    const r = normalizeEvent({ name: 'page_view', url: 'https://a.example/pricing?x=1' }, ctx, []);
    expect(r.ok && r.event.path).toBe('/pricing');
  });

  test('refuses timestamps more than 24 h ahead, accepts any past time', () => {
    const ahead = normalizeEvent({ name: 'x', timestamp: NOW + 24 * 3600_000 + 1 }, ctx, ['body']);
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
    expect(normalizeEvent({ name: 'x', timestamp: NOW + 24 * 3600_000 }, ctx, []).ok).toBe(true);
    expect(normalizeEvent({ name: 'x', timestamp: '1999-12-31T23:59:59Z' }, ctx, []).ok).toBe(true);
  });

  test('limits properties by key count and size', () => {
    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, i]));
    const r1 = normalizeEvent({ name: 'x', properties: many }, ctx, ['body', 'events', 2]);
    expect(r1.ok ? [] : r1.issues.map((i) => i.loc)).toEqual([['body', 'events', 2, 'properties']]);
    const big = normalizeEvent({ name: 'x', properties: { blob: 'x'.repeat(9000) } }, ctx, []);
    expect(big.ok).toBe(false);
  });
});
