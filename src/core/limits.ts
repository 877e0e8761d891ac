// Every limit Tally enforces, in one place, with units last in each name. Modules receive these
// through plain option objects; config.ts lets an operator override the tunable ones. The
// relations between them are asserted at load time so an inconsistent edit fails at once.

import { assert } from './assert.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;

/** Limits of the event model (DESIGN.md §2). Not configurable: clients rely on them. */
export const eventLimits = {
  eventIdCharsMax: 128,
  tenantCharsMax: 128,
  nameCharsMax: 120,
  idCharsMax: 128, // user_id, anonymous_id, session_id, source
  urlCharsMax: 2048, // path, referrer, url
  userAgentCharsMax: 1024,
  ipCharsMax: 64,
  propertiesKeysMax: 64,
  propertiesBytesMax: 8 * KiB,
  eventBytesMax: 32 * KiB,
  /**
   * An event as stored (its JSON line in the log) at most: what a client may send
   * (eventBytesMax) and what the server adds to it. The server's part is at most ~7 KB: a `path`
   * taken from `url` (2,048 ASCII characters, percent-encoded), a `user_agent` from the header
   * (1,024 characters, 3 bytes each at most), `visitor_id` (a copy of a 128-character id, 6
   * bytes a character escaped), the request's address, and the generated, absent and derived
   * fields. Checked against eventBytesMax instead, an event sent within the limit was refused
   * (413) for what the server added.
   */
  storedEventBytesMax: 40 * KiB,
  futureSkewMs: 24 * HOUR_MS,
  /** Largest `duration` (seconds): as metricLimits.valueAbsMax, so that sums stay finite. */
  durationSecondsMax: 1e292,
} as const;

/**
 * The marker of an SDK event whose properties were fitted into eventLimits (core/properties.ts):
 * the names it lists, bounded so that it always fits the limits itself.
 */
export const propertyFitLimits = {
  /** Names listed at most; past it the last entry counts the rest (`+12 more`). */
  cutNamesListedMax: 16,
  /** Characters of a listed name at most (a longer one is cut). */
  cutNameCharsMax: 64,
  /** Events named in the log line of one request's cuts (the rest are counted). */
  cutLoggedEventsMax: 5,
} as const;

/** How the latest point of a metric is chosen, alike by the live rollups and by the store. */
export const metricLimits = {
  /** How far ahead of its receipt a point's timestamp is believed (client clock skew). */
  pointClockSkewMs: 5 * 60_000,
  /**
   * Largest magnitude of a `value`: 2^53 points of it still sum to a finite double (past
   * ±1.8e308 a sum or average is Infinity, which JSON writes as null).
   */
  valueAbsMax: 1e292,
} as const;

/**
 * What a snapshot of the live counters lists: the engine's rollups fill it, the live protocol's
 * schema (src/live) documents it; both read it here, neither from the other.
 */
export const snapshotLimits = {
  /** Paths a window's snapshot lists (the live message's `top_paths`). */
  topPathsShownMax: 10,
  /**
   * Characters of a path as the top-paths summary keeps it (a longer one is cut, marked '…'):
   * a summary keeps up to ROLLUP_PATHS_MAX paths in each of its 47 buckets, and paths may be
   * up to eventLimits.urlCharsMax long.
   */
  pathCharsShownMax: 256,
} as const;

/** Limits of one request body: ingest, and the account routes. */
export const requestLimits = {
  batchEventsMax: 5000,
  bodyBytesMax: 5 * MiB,
  /**
   * The body of an account route (register, login, a project, a key, an alias): its fields are
   * short (a password of at most 256 characters, at most 32 key origins), so this is generous.
   */
  accountBodyBytesMax: 64 * KiB,
  /**
   * Arrays and objects nested in a JSON body at most: a batch of 5 MB could nest millions deep,
   * and serializing that back (to measure an event) overflows the stack. A body within the
   * event limit (32 KB) nests at most 16k deep, which JSON.stringify handles, so only larger
   * bodies are scanned.
   */
  jsonDepthMax: 512,
  /**
   * gzip codings one Content-Encoding list may name (`gzip, gzip`): each is undone whole, up to
   * bodyBytesMax, so a 16 KB header of them was thousands of 5 MiB inflates for one small body.
   */
  contentCodingsMax: 2,
  /**
   * How long a body may take to arrive once a route reads it, in all (408 beyond, the connection
   * closed, nothing written). Bun's idle timeout (http/listener.ts) only bounds the wait between
   * two bytes, so a client trickling a byte every few seconds held its request, and the part of
   * the body it had sent, for good (slowloris). A 5 MiB batch arrives within it at 700 kbit/s.
   */
  bodyReadTimeoutMs: 60_000,
} as const;

/**
 * The wait of a request from a client that never resends (Umami, Plausible) while the node is
 * overloaded (http/compat/room-wait.ts): it tries again until room frees, within these bounds.
 */
export const noRetryWaitLimits = {
  /** NO_RETRY_WAIT's default: how long one request waits for room at most; 0 = never. */
  waitMsDefault: 5_000,
  /** NO_RETRY_WAIT's largest value: a browser or proxy gives up on a request much later. */
  waitMsMax: 60_000,
  /**
   * Requests waiting at once across the node; past it a refusal is answered at once. Each holds
   * its body (at most requestLimits.bodyBytesMax), so their memory is at most this many bodies.
   */
  waitingRequestsMax: 100,
  /** The first pause between two tries, doubled after each… */
  backoffFirstMs: 10,
  /** …up to this. */
  backoffMaxMs: 200,
} as const;

/**
 * The wait of a PostHog capture that arrives while the store opens (http/listener.ts): it is
 * served once the store is open, instead of the 503 every other request gets then. posthog-node
 * keeps a batch whose tries all failed without an answer (its 10 s request timeout, a refused
 * connection) for its next flush, but drops one whose last try was answered 503, so a start
 * longer than its tries (3, 3 s apart) lost the batches sent meanwhile.
 */
export const startingWaitLimits = {
  /** The longest wait: past posthog-node's request timeout (10 s), within posthog-js's (60 s). */
  waitMs: 15_000,
  /** Requests waiting at once; past it, the 503 at once. Each holds only its connection. */
  waitingRequestsMax: 100,
} as const;

/** Signals at shutdown (shutdown.ts). */
export const signalLimits = {
  /**
   * A second stop signal (SIGTERM, SIGINT, SIGHUP) this soon after the first is the same one
   * delivered twice, not an operator's "exit now": `npm start` execs the server, so npm forwards
   * it the signals it gets, and Ctrl-C (the terminal's process group) or a stop of the whole
   * cgroup (systemd's default) signals npm and the server both, milliseconds apart. Taken as a
   * second signal, it cut every such shutdown short (exit 1, no deduplication snapshot).
   */
  repeatMs: 1_000,
} as const;

/** Defaults of the tunable limits; config.ts may override them. */
export const defaultTunables = {
  /** Events waiting for the next group commit before ingest answers 503. */
  commitQueueEventsMax: 500_000,
  /** Encoded bytes waiting for the next group commit before ingest answers 503. */
  commitQueueBytesMax: 128 * MiB,
  /** Memory for acknowledged events held in memory before ingest answers 503. */
  hotBytesMax: 512 * MiB,
  /**
   * Distinct (tenant, event_id) keys remembered for deduplication; past it the oldest are
   * forgotten early (ingest answers 503 only when the current generation alone is full).
   */
  dedupKeysMax: 20_000_000,
  /** How long an event_id is remembered; 0 means forever. */
  dedupWindowMs: 7 * DAY_MS,
  /** A write-ahead log file is closed and a new one started past this size. */
  walFileBytesMax: 64 * MiB,
  /** Free disk space under which /ready reports not ready and ingest answers 503. */
  diskFreeBytesMin: 256 * MiB,
  /** Time given to in-flight work on a stop signal before the process exits anyway. */
  shutdownDeadlineMs: 10_000,
  /** Seconds a client is told to wait (Retry-After) when ingest is overloaded. */
  retryAfterSeconds: 1,
  /** Events of one tenant accepted but not yet committed before that tenant gets 429. */
  mailboxEventsMax: 250_000,
  /** Tenant actors resident at once; an idle one is evicted to make room. */
  actorsMax: 10_000,
  /** An actor untouched this long is evicted (its rollups are rebuilt on next use). */
  actorIdleMs: 10 * 60 * 1000,
  /**
   * Memory the resident actors' live rollups may take together, estimated; past it the least
   * recently active actors with nothing in flight are evicted (checked every few seconds).
   */
  rollupBytesMax: 1024 * MiB,
  /** Hot events are flushed to segments at least this often… */
  flushIntervalMs: 2_000,
  /** …or as soon as they take this much memory. */
  flushHotBytes: 64 * MiB,
  /** How often small segments are looked for and merged. */
  compactIntervalMs: 30_000,
  /** A tenant-day is compacted once it has this many small segments… */
  compactSegmentsMin: 8,
  /** …where small means below this size. */
  smallSegmentBytesMax: 16 * MiB,
  /**
   * Events one merge takes at most: DuckDB sorts them in memory (~2.4 GiB of RSS was seen
   * merging 3M events at once), so a long backlog of small segments is merged in steps.
   */
  compactRowsMax: 1_000_000,
  /** Memory DuckDB may use for queries, flushes and the hot table. */
  duckdbMemoryBytesMax: 2048 * MiB,
  /** Threads DuckDB may use. */
  duckdbThreads: 2,
  /** A SQL query running longer than this is stopped (408). */
  queryTimeoutMs: 10_000,
  /** Rows a SQL query returns at most (`truncated: true` beyond). */
  queryRowsMax: 10_000,
  /** Days of events a project keeps unless it sets its own `retention_days`; 0 keeps them all. */
  retentionDays: 0,
};

export type Tunables = typeof defaultTunables;

/** How much of the node's shared bounds one tenant may take. Not configurable. */
export const tenantShareLimits = {
  /**
   * A tenant's mailbox holds at most this share of COMMIT_QUEUE_BYTES_MAX in encoded events
   * (the engine derives its mailboxBytesMax from it): a tenant flooding with large events then
   * meets its own bound (429) before the node's, which would answer every tenant 503.
   */
  mailboxQueueBytesShare: 1 / 2,
  /**
   * Once the hot tier holds this share of HOT_BYTES_MAX (flushing is behind), a tenant holding
   * more than its part of it (HOT_BYTES_MAX ÷ (the tenants holding hot events or events in
   * flight + 1): one part is kept for a tenant to come, as a flush frees bytes only once it is
   * done) gets 429 while the others go on ingesting; only a full budget answers every tenant
   * 503. The tier and the tenant both count their events in flight as held (engine/ingest.ts).
   * Live sockets are shared past the same share of LIVE_SUBSCRIBERS_MAX by the same rule, a
   * part there being LIVE_SUBSCRIBERS_MAX ÷ (the tenants holding sockets + 1)
   * (live/admission.ts).
   */
  hotPressureShare: 3 / 4,
} as const;

/** A tenant's live counters rebuilt from the store while its ingest goes on. Not configurable. */
export const rebuildLimits = {
  /**
   * Events committed while their actors' counters are rebuilt (engine/deferred-counts.ts), all
   * actors' together, in their log records' bytes: each is held, as the fields the counters
   * read, until its rebuild's read is known (or the rebuild is stopped, its actor evicted or
   * dropped: then let go uncounted, as its successor reads them from the store). Past it an
   * actor still rebuilding ticks only once its rebuild is done or stopped (its requests wait, a
   * busy tenant's mailbox may fill: 429). Soft by the commits in flight when it is reached
   * (COMMIT_QUEUE_BYTES_MAX at most).
   */
  deferredBytesMax: 64 * MiB,
} as const;

/** Data retention (engine/retention.ts): whole UTC days past a project's days are deleted. */
export const retentionLimits = {
  /** `retention_days` and RETENTION_DAYS at most (100 years); 0 means forever. */
  retentionDaysMax: 36_500,
  /** How often the retention pass runs (also once at start). Not configurable. */
  retentionPassIntervalMs: HOUR_MS,
} as const;

/** Erasures of one person's events (engine/erasures.ts). Not configurable. */
export const erasureLimits = {
  /**
   * Erasures a project may have pending at once; past it a request is refused (409) until one
   * is done. Each rewrites the segments holding the person's events, one erasure at a time.
   */
  erasuresPendingPerProjectMax: 20,
  /**
   * Erasures a project may ask for at once; then one more each erasureRefillMs (a token
   * bucket per project; 429 beyond). Each acceptance pauses every tenant's flushes and takes
   * the store's write lock, and one of a person without events is done at once, so the
   * pending bound alone does not slow a loop of them: without a rate one project's loop slows
   * every other tenant's reads. GDPR erasures are rare; ten at once and ten a minute is ample.
   */
  erasuresBurstMax: 10,
  erasureRefillMs: 6_000,
  /** Erasures GET /api/v1/projects/{id}/erasures lists at most (the newest). */
  erasuresListedMax: 100,
} as const;

/** The GeoIP database of GEOIP_DB (engine/country-db.ts). Not configurable. */
export const geoLimits = {
  /**
   * Decoded records kept for the next look-up of the same network (a country database has a
   * few thousand distinct records; a city database millions, so the cache is bounded).
   */
  recordCacheEntriesMax: 20_000,
  /** Addresses whose country is kept for their next events. */
  recentAddressesMax: 10_000,
  /** Records the check at start reads, in address order, for one with `country.iso_code`. */
  checkRecordsMax: 16,
  /** Look-ups that check may take walking past networks without data. */
  checkLookupsMax: 100_000,
} as const;

assert(requestLimits.bodyBytesMax >= eventLimits.eventBytesMax, 'a body must hold one event');
assert(eventLimits.propertiesBytesMax < eventLimits.eventBytesMax, 'properties fit in an event');
// What the server adds to an event (see storedEventBytesMax), 1 KiB for its small fields.
assert(
  eventLimits.eventBytesMax +
    eventLimits.urlCharsMax +
    3 * eventLimits.userAgentCharsMax +
    6 * eventLimits.idCharsMax +
    KiB <=
    eventLimits.storedEventBytesMax,
  'an event sent within the limit fits once stored',
);
// A listed name serializes to at most 6 bytes a character (`\u0001`) and its quotes and comma;
// 32 bytes hold the marker's key, brackets, braces and its `+N more`.
assert(
  32 + propertyFitLimits.cutNamesListedMax * (propertyFitLimits.cutNameCharsMax * 6 + 3) <=
    eventLimits.propertiesBytesMax,
  'the marker of cut properties fits the properties limit by itself',
);
assert(propertyFitLimits.cutNamesListedMax >= 2, 'the marker lists a name and a count');
assert(
  defaultTunables.commitQueueBytesMax >= requestLimits.bodyBytesMax * 4,
  'the commit queue holds several full batches',
);
assert(
  defaultTunables.commitQueueEventsMax >= requestLimits.batchEventsMax * 4,
  'the commit queue holds several full batches',
);
assert(defaultTunables.walFileBytesMax >= requestLimits.bodyBytesMax * 2, 'a group fits a file');
assert(
  defaultTunables.mailboxEventsMax >= requestLimits.batchEventsMax,
  'a tenant can always have one full batch in flight',
);
assert(
  defaultTunables.mailboxEventsMax * 2 <= defaultTunables.commitQueueEventsMax,
  "one tenant alone leaves at least half the commit queue's events to the others",
);
assert(
  tenantShareLimits.mailboxQueueBytesShare > 0 && tenantShareLimits.mailboxQueueBytesShare <= 1 / 2,
  "one tenant alone leaves at least half the commit queue's bytes to the others",
);
assert(
  defaultTunables.commitQueueBytesMax * tenantShareLimits.mailboxQueueBytesShare >=
    requestLimits.bodyBytesMax * 2,
  'a tenant can have two full batches in flight',
);
assert(
  tenantShareLimits.hotPressureShare > 0 && tenantShareLimits.hotPressureShare < 1,
  "a flooding tenant meets its part of the hot tier's budget before the budget is full",
);
assert(
  defaultTunables.flushHotBytes * 2 <= defaultTunables.hotBytesMax,
  'flushing starts well before 503s',
);

assert(
  noRetryWaitLimits.waitMsDefault <= noRetryWaitLimits.waitMsMax &&
    noRetryWaitLimits.backoffFirstMs <= noRetryWaitLimits.backoffMaxMs,
  'the default wait is within its bounds, and the backoff grows to its cap',
);
assert(
  defaultTunables.retentionDays >= 0 &&
    defaultTunables.retentionDays <= retentionLimits.retentionDaysMax,
  'the default retention is within its bounds',
);

export { DAY_MS, HOUR_MS, KiB, MiB };
