// The OpenAPI operations of the live WebSocket paths. @elysiajs/openapi leaves WebSocket routes
// out of /openapi/json whatever their `detail`, so the handshake (a GET answered 101, or
// refused with an HTTP error before the upgrade) is described here and added to the document's
// paths; the messages are the components LiveClientMessage and LiveServerMessage.

import type { OpenAPIV3 } from 'openapi-types';
import { defaultLiveLimits } from '../../live/index.ts';
import { openApiSchema, tenantIdSchema } from '../model.ts';
import { errorDocs } from '../openapi-docs.ts';
import { LIVE_PATHS } from './live.ts';

/** A snapshot as the server pushes it, for the 101's example. */
const snapshotExample = {
  type: 'snapshot',
  at: 1795608000000,
  tenant: 'acme',
  names_filter: null,
  events_per_second: 0.08333,
  windows: Object.fromEntries(
    (['1m', '5m', '1h', '24h'] as const).map((w) => [
      w,
      {
        events: 5,
        uniques: 3,
        events_per_second: { '1m': 0.08333, '5m': 0.01667, '1h': 0.001389, '24h': 0.00005787 }[w],
        names: [
          { name: 'page_view', events: 3 },
          { name: 'signup', events: 2 },
        ],
        top_paths: [{ path: '/pricing', views: 2 }],
      },
    ]),
  ),
  latest_metrics: [{ name: 'cpu_load', value: 0.42, timestamp: 1795607995000, event_id: '01J5' }],
};

const parameters: OpenAPIV3.ParameterObject[] = [
  {
    name: 'tenant_id',
    in: 'query',
    required: false,
    description: 'The tenant to stream, for a token that may read several; as on the reads.',
    schema: openApiSchema(tenantIdSchema()),
  },
  {
    name: 'token',
    in: 'query',
    required: false,
    description:
      'A read key or access token, for clients that can set no header (seed-001); a browser ' +
      'sends it as the subprotocol `bearer.<token>` with `tally.live` instead.',
    schema: { type: 'string' },
  },
  {
    name: 'Sec-WebSocket-Protocol',
    in: 'header',
    required: false,
    description: '`tally.live, bearer.<token>` (the server selects `tally.live`).',
    schema: { type: 'string', example: 'tally.live, bearer.rk_…' },
  },
];

/**
 * One handshake's operation; `operationId` as the plugin names the others (method, then path in
 * PascalCase), which client generators need to name a method.
 */
function operation(
  operationId: string,
  summary: string,
  onOpen: string,
): OpenAPIV3.OperationObject {
  const { clientMessageBurstMax: burst, clientMessageIntervalMs: interval } = defaultLiveLimits;
  const { pushIntervalMs, heartbeatIntervalMs } = defaultLiveLimits;
  return {
    operationId,
    tags: ['live'],
    summary,
    description:
      `A WebSocket handshake (\`Upgrade: websocket\`); ${onOpen} The client sends ` +
      'LiveClientMessage frames (`subscribe`, with `names` to filter, or `unsubscribe`; at ' +
      `most ${burst} at once, then one per ${interval} ms) and gets LiveServerMessage frames: ` +
      'a snapshot at once after subscribe, then on change (at most one per ' +
      `${pushIntervalMs} ms), and a heartbeat after ${heartbeatIntervalMs / 1000} s without ` +
      'one (LIVE_PUSH_INTERVAL, LIVE_HEARTBEAT_INTERVAL). A plain GET without the handshake ' +
      'is 426.',
    parameters,
    responses: {
      101: {
        description:
          'Switching Protocols: the socket is open. Its frames are LiveServerMessage (the ' +
          "close codes are in that component's description).",
        content: {
          'application/json': {
            schema: { $ref: '#/components/schemas/LiveServerMessage' },
            example: snapshotExample,
          },
        },
      },
      ...errorDocs({
        400:
          'The query string is not percent-encoded UTF-8 (`tenant_id=%FF`, a bare `%`) or holds ' +
          'a `#`, as on every native read',
        401: 'AUTH_MODE=required: no bearer token (a JWT or a read key), or an unknown one',
        403: 'A write key, credentials that may not read that tenant, or a foreign Origin',
        422: 'tenant_id breaks the tenant rule, or a query parameter is given twice',
        426: 'A plain GET without the WebSocket handshake',
        429:
          'The tenant has too many live sockets, or, once 3/4 of the server limit is open, ' +
          'more than its part (the limit ÷ (the tenants holding sockets + 1)): ' +
          'tenant_overloaded; see Retry-After',
        503: 'The server has too many live sockets, or is starting; see Retry-After',
      }),
    },
  };
}

/** The document's paths of the live WebSocket handshakes (app.ts adds them). */
export function livePathDocs(): OpenAPIV3.PathsObject {
  return {
    [LIVE_PATHS[0]]: {
      get: operation(
        'getApiV1Live',
        'Live counters over a WebSocket',
        'nothing is sent until the client subscribes.',
      ),
    },
    [LIVE_PATHS[1]]: {
      get: operation(
        'getApiV1WsMetrics',
        'Live counters over a WebSocket, subscribed to all names on open (PulseBoard)',
        'the socket starts subscribed to all names, as if it had sent `{"type":"subscribe"}`.',
      ),
    },
  };
}
