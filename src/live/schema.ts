// The live WebSocket protocol as TypeBox schemas: what a client sends (subscribe, unsubscribe)
// and what the server pushes (snapshot, heartbeat, error). The same schemas validate client
// messages, are checked against every message in tests, and are the OpenAPI components.

import { type Static, Type } from '@sinclair/typebox';
import { eventLimits, snapshotLimits } from '../core/index.ts';
import { defaultLiveLimits } from './limits.ts';
import { CREDENTIALS_RECHECK_MS, CREDENTIALS_UNCHECKED_ROUNDS_MAX } from './recheck.ts';

const Count = Type.Integer({ minimum: 0 });
/** Names (and latest metrics) an unfiltered snapshot lists per window. */
const NAMES_SHOWN = defaultLiveLimits.namesShownMax;

const NameCount = Type.Object({
  name: Type.String(),
  events: Type.Union([Count, Type.Null()], {
    description:
      'Events of this name in the window; null (with a names filter only) when the name has ' +
      'no counter of its own and its events, if any, are counted under "(other)".',
  }),
  in_other: Type.Optional(
    Type.Literal(true, {
      description:
        'With a names filter: more than ROLLUP_NAMES_MAX (1,000 by default) names were seen ' +
        'in 24 h and some of this name\'s events are counted under "(other)" with the later ' +
        'ones: all of them when `events` is null, else those from before it got a counter of ' +
        'its own (`events` is then a lower bound).',
    }),
  ),
});

const PathViews = Type.Object({
  path: Type.String(),
  views: Type.Integer({ minimum: 0, description: 'Page views (page_view, pageview, …).' }),
});

const LiveWindow = Type.Object(
  {
    events: Type.Integer({ minimum: 0, description: 'Events received in the window (no bots).' }),
    uniques: Type.Integer({
      minimum: 0,
      description: 'Unique visitors, a HyperLogLog estimate (about 1% error), at most `events`.',
    }),
    events_per_second: Type.Number({
      minimum: 0,
      description: 'events divided by the length of the window in seconds.',
    }),
    names: Type.Array(NameCount, {
      description:
        'Events per name, most first. Unfiltered: the top names with events in the window ' +
        `(at most ${NAMES_SHOWN}; "(other)" counts names past ROLLUP_NAMES_MAX); with a names ` +
        'filter: exactly the requested names, 0 included, null for a name counted under ' +
        '"(other)".',
    }),
    top_paths: Type.Array(PathViews, {
      description: `Most viewed paths, at most ${snapshotLimits.topPathsShownMax}.`,
    }),
  },
  { description: 'Counters of one sliding window, counted by receive time.' },
);

const LatestMetric = Type.Object({
  name: Type.String(),
  value: Type.Number(),
  timestamp: Type.Integer({ description: 'Event time of the point, epoch ms.' }),
  event_id: Type.String(),
});

const LiveSnapshotMessage = Type.Object(
  {
    type: Type.Literal('snapshot'),
    at: Type.Integer({ description: 'Server time the snapshot was taken, epoch ms.' }),
    tenant: Type.String(),
    names_filter: Type.Union([Type.Array(Type.String()), Type.Null()], {
      description: 'The names of the subscription, or null for all.',
    }),
    events_per_second: Type.Number({
      minimum: 0,
      description: 'Events per second, averaged over the 60 whole seconds before `at`.',
    }),
    windows: Type.Object({
      '1m': LiveWindow,
      '5m': LiveWindow,
      '1h': LiveWindow,
      '24h': LiveWindow,
    }),
    latest_metrics: Type.Array(LatestMetric, {
      description:
        'Latest value of each metric (an event with a value), newest first: at most ' +
        `${NAMES_SHOWN} without a names filter, every requested name that has one with a filter.`,
    }),
  },
  {
    description:
      'The tenant counters. Sent at once after subscribe, then whenever they changed, at most ' +
      'once per push interval (250 ms). Each snapshot is complete: replace, do not add.',
  },
);

const LiveHeartbeatMessage = Type.Object(
  { type: Type.Literal('heartbeat'), at: Type.Integer({ description: 'Server time, epoch ms.' }) },
  { description: 'Sent when nothing changed for the heartbeat interval (15 s).' },
);

const LiveErrorMessage = Type.Object(
  {
    type: Type.Literal('error'),
    code: Type.String({ examples: ['bad_request'] }),
    detail: Type.String(),
  },
  { description: 'A refused client message; the connection stays open unless it is closed.' },
);

export const LiveServerMessage = Type.Union(
  [LiveSnapshotMessage, LiveHeartbeatMessage, LiveErrorMessage],
  {
    description:
      'A message pushed on WS /api/v1/live (also /api/v1/ws/metrics, whose sockets start ' +
      'subscribed to all names). Close codes: 1001 ' +
      'server shutting down, 1008 the credentials lapsed (key revoked, session ended, token ' +
      `expired or access lost; checked every ${CREDENTIALS_RECHECK_MS / 1000} s, and at once ` +
      "after a change made through Tally or at the token's expiry) or more than " +
      `${defaultLiveLimits.clientMessageBurstMax} client messages at once (then one per ` +
      `${defaultLiveLimits.clientMessageIntervalMs} ms), 1009 client message too big, 1011 ` +
      'counters could not be loaded or the credentials could not be checked ' +
      `(${CREDENTIALS_UNCHECKED_ROUNDS_MAX} checks in a row failed), 1013 slow consumer, ` +
      'subscriber limit, no room for the counters of more tenants, or the counters evicted ' +
      "for another tenant's events (an overloaded error first; try again later), or on " +
      '/api/v1/ws/metrics no room for a filter of all names (a tenant_overloaded error ' +
      'first), 4410 ' +
      'the project was deleted (its counters, keys and members are gone: do not reconnect).',
  },
);

export const LiveSubscribeMessage = Type.Object(
  {
    type: Type.Literal('subscribe'),
    names: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: eventLimits.nameCharsMax }), {
        maxItems: defaultLiveLimits.subscribeNamesMax,
        description: 'Only these event names in `names` and `latest_metrics`; all when absent.',
      }),
    ),
  },
  { description: 'Starts (or changes) the subscription; answered at once by a snapshot.' },
);

const LiveUnsubscribeMessage = Type.Object(
  { type: Type.Literal('unsubscribe') },
  { description: 'Stops snapshots and heartbeats; the connection stays open.' },
);

export const LiveClientMessage = Type.Union([LiveSubscribeMessage, LiveUnsubscribeMessage], {
  description: 'A message a client sends on the live WebSocket, as JSON text.',
});

export type LiveWindowCounters = Static<typeof LiveWindow>;
export type LiveNameCount = Static<typeof NameCount>;
export type LiveServerMessageBody = Static<typeof LiveServerMessage>;

/** The OpenAPI components of the live protocol, by name. */
export const liveSchemas = {
  LiveServerMessage,
  LiveClientMessage,
};
