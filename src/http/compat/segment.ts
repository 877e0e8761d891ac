// Segment's HTTP Tracking API: POST /v1/batch and the single-call routes (/v1/track, identify,
// page, screen, group, alias). The write key comes from HTTP Basic (`writeKey:`) or the body's
// `writeKey`. Limits answer 400, which Segment clients drop without retrying; overload answers
// 429/503 with Retry-After, which they retry. A batch is taken whole or not at all.

import { Elysia } from 'elysia';
import { AppError, type EventInput, KiB } from '../../core/index.ts';
import { JSON_TYPES, parseJson, readBody } from '../body.ts';
import type { AppDeps } from '../context.ts';
import { errorResponse } from '../errors.ts';
import { admitIngest, prepareEvents } from '../prepare.ts';
import { contextOf, ingest, issuesText, objectOf, type Server, textOf } from './ingest.ts';
import { type ErrorShape, guarded, json } from './responses.ts';

/** Segment's documented limits: 32 KB per call, 500 KB per batch request. */
export const SEGMENT_EVENT_BYTES_MAX = 32 * KiB;
export const SEGMENT_BATCH_BYTES_MAX = 500 * KiB;

export const SEGMENT_TYPES = ['track', 'identify', 'page', 'screen', 'group', 'alias'] as const;
type SegmentType = (typeof SEGMENT_TYPES)[number];

export function segmentRoutes(deps: AppDeps) {
  const shape: ErrorShape = (error) => errorResponse(asSegmentError(error), retryAfter(deps));
  const handle = (type: SegmentType | 'batch') =>
    guarded(shape, async ({ request, server }: { request: Request; server: Server }) => {
      const bytesMax = type === 'batch' ? SEGMENT_BATCH_BYTES_MAX : SEGMENT_EVENT_BYTES_MAX;
      admitIngest(deps);
      const body = objectOf(parseJson((await readBody(request, JSON_TYPES, bytesMax)).bytes));
      if (body === undefined) throw new AppError('bad_request', 'the body must be a JSON object');
      const messages = type === 'batch' ? batchOf(body) : [{ ...body, type }];
      const ctx = contextOf(deps, request, server, { key: writeKeyOf(request, body) });
      const locOf = type === 'batch' ? (i: number) => ['batch', i] : () => ['body'];
      const inputs = messages.map((m, i) => inputOf(m, locOf(i).join('.')));
      const events = prepareEvents(inputs, ctx, locOf);
      await ingest(deps, request, events, locOf);
      return json({ success: true });
    });
  const app = new Elysia({ prefix: '/v1', tags: ['compatibility'] });
  app.post('/batch', handle('batch'), { parse: 'none', detail: { summary: 'Segment: batch' } });
  for (const type of SEGMENT_TYPES) {
    app.post(`/${type}`, handle(type), { parse: 'none', detail: { summary: `Segment: ${type}` } });
  }
  return app;
}

function retryAfter(deps: AppDeps): number {
  return deps.options.retryAfterSeconds;
}

/** Segment clients drop a batch on 400 and retry 429/5xx: limits and bad input are 400s. */
function asSegmentError(error: AppError): AppError {
  if (error.code === 'validation_failed') {
    return new AppError('bad_request', issuesText(error.issues ?? []));
  }
  if (error.code === 'payload_too_large' || error.code === 'invalid_json') {
    return new AppError('bad_request', error.message);
  }
  return error;
}

/** The key of HTTP Basic `writeKey:` (password empty), else the body's `writeKey`. */
function writeKeyOf(request: Request, body: Record<string, unknown>): string | null {
  const header = request.headers.get('authorization') ?? '';
  if (header.toLowerCase().startsWith('basic ')) {
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    const user = decoded.split(':')[0];
    if (user) return user;
  }
  return typeof body.writeKey === 'string' && body.writeKey !== '' ? body.writeKey : null;
}

function batchOf(body: Record<string, unknown>): Record<string, unknown>[] {
  const batch = body.batch;
  if (!Array.isArray(batch) || batch.length === 0) {
    throw new AppError('bad_request', 'batch must be a non-empty array of messages');
  }
  return batch.map((item, i) => {
    const message = objectOf(item);
    if (message === undefined) throw new AppError('bad_request', `batch.${i} must be an object`);
    return message;
  });
}

/** Maps one Segment message onto the unified event; `where` names it in errors. */
function inputOf(message: Record<string, unknown>, where: string): EventInput {
  const size = Buffer.byteLength(JSON.stringify(message));
  if (size > SEGMENT_EVENT_BYTES_MAX) {
    throw new AppError(
      'bad_request',
      `${where} is ${size} bytes; a message may be at most ${SEGMENT_EVENT_BYTES_MAX}`,
    );
  }
  const type = message.type;
  if (!(SEGMENT_TYPES as readonly unknown[]).includes(type)) {
    throw new AppError('bad_request', `${where}.type must be one of ${SEGMENT_TYPES.join(', ')}`);
  }
  const userId = textOf(message.userId);
  const anonymousId = textOf(message.anonymousId);
  if (userId === undefined && anonymousId === undefined) {
    throw new AppError('bad_request', `${where} needs a userId or an anonymousId`);
  }
  const context = objectOf(message.context) ?? {};
  const page = objectOf(context.page) ?? {};
  const properties = propertiesOf(type as SegmentType, message, where);
  const text = (key: string) => textOf(properties[key]) ?? textOf(page[key]);
  return {
    event_id: textOf(message.messageId),
    name: type === 'track' ? (textOf(message.event) ?? '') : (type as string),
    timestamp: textOf(message.timestamp) ?? textOf(message.originalTimestamp),
    user_id: userId,
    anonymous_id: anonymousId,
    path: text('path'),
    url: text('url'),
    referrer: text('referrer'),
    user_agent: textOf(context.userAgent),
    ip: textOf(context.ip),
    properties,
  };
}

/** track/page/screen carry properties; identify/group traits; alias its previousId. */
function propertiesOf(
  type: SegmentType,
  message: Record<string, unknown>,
  where: string,
): Record<string, unknown> {
  if (type === 'track' && textOf(message.event) === undefined) {
    throw new AppError('bad_request', `${where}.event is required for a track call`);
  }
  switch (type) {
    case 'identify':
      return { ...objectOf(message.traits) };
    case 'group':
      return { ...objectOf(message.traits), groupId: textOf(message.groupId) };
    case 'alias':
      return { previousId: textOf(message.previousId) };
    case 'page':
    case 'screen':
      return {
        ...objectOf(message.properties),
        ...(message.name === undefined ? {} : { name: message.name }),
        ...(message.category === undefined ? {} : { category: message.category }),
      };
    case 'track':
      return { ...objectOf(message.properties) };
  }
}
