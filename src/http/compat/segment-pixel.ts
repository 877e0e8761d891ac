// Segment's Tracking Pixel API: GET /v1/pixel/{track,identify,page,screen,group,alias}, for
// email opens, ad impressions and pages where only an image can be embedded. The call is the
// query's `data`: its JSON as base64 (URL-safe or not, padding optional), or the JSON itself;
// without `data`, the query's own fields, a dotted name nested (`properties.subject=…`). The
// write key is the call's `writeKey` (an image sends no Authorization). As Segment's, every
// request is answered 200 with a 1×1 transparent GIF, even when the call is refused: an image
// reads no error, so the refusal is logged instead. The call becomes an event as any other
// Segment call does (segment-message.ts).

import { Elysia } from 'elysia';
import { AppError } from '../../core/index.ts';
import { parseJson } from '../body.ts';
import type { AppDeps } from '../context.ts';
import { toAppError } from '../errors.ts';
import { admitIngest } from '../prepare.ts';
import { queryParam } from './docs.ts';
import { contextOf, ingestSorted, objectOf, type Server, sortBatch, textOf } from './ingest.ts';
import { SEGMENT_FIT, writeKeyOf } from './segment.ts';
import { eventOf, SEGMENT_TYPES, type SegmentType } from './segment-message.ts';

const SEGMENT_PIXEL_PREFIX = '/v1/pixel';

/** A 1×1 transparent GIF (43 bytes). */
const GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

export function segmentPixelRoutes(deps: AppDeps) {
  const app = new Elysia({ prefix: SEGMENT_PIXEL_PREFIX, tags: ['compatibility'] });
  for (const type of SEGMENT_TYPES) {
    app.get(
      `/${type}`,
      async ({ request, server }: { request: Request; server: Server }) => {
        try {
          // HEAD (answered by this GET route: a link checker, a mail scanner) loads no image.
          if (request.method !== 'HEAD') await storePixelCall(deps, request, server, type);
        } catch (error) {
          const refusal = toAppError(error, 'UNKNOWN', deps.log, request);
          deps.log.warn('segment pixel call refused', {
            type,
            code: refusal.code,
            reason: refusal.message,
          });
        }
        return new Response(GIF, {
          headers: { 'content-type': 'image/gif', 'cache-control': 'no-store, max-age=0' },
        });
      },
      { detail: pixelDoc(type) },
    );
  }
  return app;
}

async function storePixelCall(
  deps: AppDeps,
  request: Request,
  server: Server,
  type: SegmentType,
): Promise<void> {
  admitIngest(deps);
  const call = pixelCallOf(new URL(request.url).searchParams);
  const ctx = contextOf(deps, request, server, {
    key: writeKeyOf(request, call),
    fit: SEGMENT_FIT,
  });
  const batch = sortBatch([{ ...call, type }], (item) =>
    eventOf(item, ['data'], textOf(call.sentAt), ctx),
  );
  await ingestSorted(deps, request, batch, 'segment');
}

/** The call a pixel's query carries: `data` (base64 or JSON), else its fields, nested. */
function pixelCallOf(query: URLSearchParams): Record<string, unknown> {
  const data = query.get('data');
  if (data === null) return nestedFields(query);
  const text = data.trim();
  // A `+` of base64 sent unescaped reads as a space in a query: restored.
  const bytes = text.startsWith('{')
    ? Buffer.from(text)
    : Buffer.from(text.replaceAll(' ', '+'), 'base64');
  const call = objectOf(parseJson(bytes));
  if (call === undefined) throw new AppError('bad_request', 'data must be a JSON object');
  return call;
}

/** `a.b=1&c=2` as `{a: {b: "1"}, c: "2"}`; a name part `__proto__` is left out. */
function nestedFields(query: URLSearchParams): Record<string, unknown> {
  const call: Record<string, unknown> = {};
  for (const [name, value] of query) {
    const parts = name.split('.');
    if (parts.includes('__proto__')) continue;
    let holder = call;
    for (const part of parts.slice(0, -1)) {
      const next = objectOf(holder[part]) ?? {};
      holder[part] = next;
      holder = next;
    }
    holder[parts.at(-1) as string] = value;
  }
  return call;
}

const EXAMPLE_CALL = {
  writeKey: 'wk_3fK9c0Qx_a1B7mZ2pR8sTqW4',
  userId: 'user_123',
  event: 'Email Opened',
  properties: { subject: 'The Electric Daily', email: 'jane.kim@example.com' },
};

function pixelDoc(type: SegmentType) {
  const data = Buffer.from(JSON.stringify(EXAMPLE_CALL)).toString('base64url');
  return {
    summary: `Segment: ${type} by tracking pixel (GET ${SEGMENT_PIXEL_PREFIX}/${type})`,
    description:
      "Segment's Tracking Pixel API, for an `<img>` in an email or an ad: the call (write key " +
      `in its \`writeKey\`) as \`?data=\` base64 JSON, e.g. \`?data=${data}\`, or as the ` +
      "query's own fields (`userId=…&event=…&properties.subject=…&writeKey=…`). Stored as " +
      `POST /v1/${type} stores it. Always a 1×1 GIF, even when the call is refused (logged).`,
    parameters: [queryParam('data', 'The call as JSON, base64 (URL-safe or not) or as is.')],
    responses: {
      200: {
        description: 'A 1×1 transparent GIF, whether the call was stored or not',
        content: {
          'image/gif': {
            schema: { type: 'string' as const, format: 'binary' },
            example: GIF.toString('latin1'),
          },
        },
      },
    },
  };
}
