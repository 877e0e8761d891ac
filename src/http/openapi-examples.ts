// Examples of the native API's answers for /openapi/json: the shapes the routes really answer
// (taken from running them), told as one story — the request examples' event, metric points
// and account. test/http/openapi.test.ts checks each against the schema it illustrates.

import { exampleEvent } from './model.ts';

const CREATED_AT = '2026-11-25T12:00:00.000Z';
const ADA_ID = '01a216a9-9e77-705c-967a-daf5650f5cb1';
const GRACE_ID = '01a216a9-9e7c-7656-a211-154422cd973e';
const CHROME_ON_MAC =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) ' +
  'Chrome/131.0.0.0 Safari/537.36';

// Operations.

export const healthExample = { status: 'ok' };
export const readyExample = { status: 'ready' };
export const notReadyExample = {
  detail:
    'only 104857600 bytes free in the data directory; at least 268435456 are required ' +
    '(DISK_FREE_BYTES_MIN)',
  code: 'not_ready',
};

export const statusExample = {
  last_seq: 48_213,
  flushed_through_seq: 48_000,
  hot_bytes: 1_482_240,
  wal_files: 2,
  dedup_keys: 48_213,
  dedup_bytes: 2_097_152,
  dedup_remembered_since: null,
  dedup_dropped_early: 0,
  actors: 3,
  rollup_bytes: 4_218_880,
  rss_bytes: 172_220_416,
  retention_days: 0,
  retention_last_run_at: '2026-11-25T11:00:00.000Z',
};

// Events: the answers to exampleEvent, sent from Chrome on a Mac.

export const eventAcceptedExample = {
  status: 'accepted',
  event_id: exampleEvent.event_id,
  duplicate: false,
};

export const batchAcceptedExample = {
  accepted: 1,
  duplicates: 0,
  results: [{ event_id: exampleEvent.event_id, status: 'accepted' }],
};

export const storedEventExample = {
  event_id: exampleEvent.event_id,
  tenant: 'default',
  name: exampleEvent.name,
  timestamp: '2026-11-25T10:15:00.000Z',
  received_at: '2026-11-25T10:15:00.412Z',
  user_id: exampleEvent.user_id,
  anonymous_id: null,
  session_id: exampleEvent.session_id,
  source: null,
  path: exampleEvent.path,
  referrer: exampleEvent.referrer,
  url: null,
  user_agent: CHROME_ON_MAC,
  ip: null,
  duration: null,
  value: null,
  properties: exampleEvent.properties,
  os: 'MacOS',
  browser: 'Chrome',
  device: 'desktop',
  is_bot: false,
  visitor_id: exampleEvent.user_id,
  country: 'DE',
};

export const eventPageExample = {
  events: [storedEventExample],
  next_cursor:
    'WyIxNzk1NjAxNzAwMDAwMDAwIiwiMDE5M2I1YzQtN2ExZS03YzNhLTlkMmUt' +
    'NGY1YTZiN2M4ZDllIiwiMTc5NTYwMTcwMDQxMjAwMCJd',
};

// Metrics: the point of the request example, { name: 'cpu_load', value: 0.73, tags }.

const POINT_ID = '01a216a9-9c93-74e9-918e-36cce08efc0b';

export const metricAcceptedExample = { status: 'accepted', id: POINT_ID, duplicate: false };

export const latestMetricExample = {
  name: 'cpu_load',
  value: 0.73,
  timestamp: CREATED_AT,
  id: POINT_ID,
};

export const metricPointExample = {
  id: POINT_ID,
  name: 'cpu_load',
  value: 0.73,
  timestamp: CREATED_AT,
  received_at: CREATED_AT,
  tags: { host: 'web-1' },
  source: null,
};

export const metricPageExample = {
  metrics: [metricPointExample],
  next_cursor:
    'WyIxNzk1NjA4MDAwMDAwMDAwIiwiMDFhMjE2YTktOWM5My03NGU5LTkxOGUt' +
    'MzZjY2UwOGVmYzBiIiwiMTc5NTYwODAwMDAwMDAwMCJd',
};

export const metricAggregateExample = {
  name: 'cpu_load',
  bucket: 'hour',
  from: '2026-11-25T12:00:00+01:00',
  to: '2026-11-25T14:00:00+01:00',
  tz: 'Europe/Berlin',
  buckets: [
    {
      bucket: '2026-11-25T12:00:00+01:00',
      count: 60,
      sum: 31.2,
      avg: 0.52,
      min: 0.18,
      max: 0.91,
      p50: 0.49,
      p95: 0.84,
    },
    {
      bucket: '2026-11-25T13:00:00+01:00',
      count: 2,
      sum: 1.14,
      avg: 0.57,
      min: 0.41,
      max: 0.73,
      p50: 0.57,
      p95: 0.714,
    },
  ],
};

// Reads over a week of a small site, in Europe/Berlin.

const WEEK = { from: '2026-11-18T00:00:00+01:00', to: '2026-11-25T00:00:00+01:00' };

export const statsExample = {
  total_events: 1284,
  page_views: 962,
  unique_users: 57,
  unique_visitors: 311,
  sessions: 402,
  avg_duration: 48.6,
  visits: 402,
  bounce_rate: 58,
  visit_duration: 131,
  views_per_visit: 2.39,
  top_paths: [
    { path: '/', views: 512, visitors: 240 },
    { path: '/pricing', views: 231, visitors: 118 },
  ],
  top_referrers: [
    { referrer: 'https://news.ycombinator.com/', events: 322, visitors: 88 },
    { referrer: 'https://www.google.com/', events: 141, visitors: 52 },
  ],
  top_referrer_sources: [
    {
      source: 'Direct / None',
      referrer_source: 'Direct / None',
      visitors: 190,
      visits: 241,
      events: 760,
    },
    {
      source: 'Hacker News',
      referrer_source: 'Hacker News',
      visitors: 88,
      visits: 93,
      events: 301,
    },
  ],
  top_channels: [
    { channel: 'Direct', visitors: 190, visits: 241 },
    { channel: 'Organic Social', visitors: 88, visits: 93 },
  ],
  top_entry_pages: [
    { path: '/', visitors: 201, visits: 262 },
    { path: '/pricing', visitors: 64, visits: 70 },
  ],
  top_exit_pages: [
    { path: '/pricing', visitors: 102, visits: 118 },
    { path: '/', visitors: 97, visits: 121 },
  ],
  top_utm_mediums: [{ utm_medium: 'email', visitors: 31, visits: 35 }],
  top_utm_sources: [{ utm_source: 'newsletter', visitors: 31, visits: 35 }],
  top_utm_campaigns: [{ utm_campaign: 'spring_sale', visitors: 24, visits: 27 }],
  top_utm_contents: [{ utm_content: 'hero', visitors: 12, visits: 12 }],
  top_utm_terms: [],
  top_events: [
    { name: 'page_view', events: 962, visitors: 311 },
    { name: 'signup', events: 57, visitors: 57 },
  ],
  os: [
    { os: 'MacOS', events: 610, visitors: 140 },
    { os: 'Windows', events: 402, visitors: 101 },
  ],
  browsers: [
    { browser: 'Chrome', events: 744, visitors: 171 },
    { browser: 'Safari', events: 330, visitors: 92 },
  ],
  devices: [
    { device: 'desktop', events: 1012, visitors: 231 },
    { device: 'mobile', events: 272, visitors: 80 },
  ],
  countries: [
    { country: 'DE', events: 640, visitors: 152 },
    { country: 'US', events: 301, visitors: 77 },
  ],
  ...WEEK,
  tz: 'Europe/Berlin',
};

export const timeSeriesExample = {
  metric: 'count',
  bucket: 'day',
  group_by: 'name',
  from: '2026-11-22T00:00:00+01:00',
  to: WEEK.to,
  tz: 'Europe/Berlin',
  series: [
    {
      key: 'page_view',
      events: 412,
      points: [
        { bucket: '2026-11-22T00:00:00+01:00', value: 131 },
        { bucket: '2026-11-23T00:00:00+01:00', value: 140 },
        { bucket: '2026-11-24T00:00:00+01:00', value: 141 },
      ],
    },
    {
      key: 'signup',
      events: 9,
      points: [
        { bucket: '2026-11-22T00:00:00+01:00', value: 2 },
        { bucket: '2026-11-24T00:00:00+01:00', value: 7 },
      ],
    },
  ],
};

/** The answer to the request example, `SELECT name, count(*) AS n FROM events GROUP BY name`. */
export const sqlResultExample = {
  columns: [
    { name: 'name', type: 'VARCHAR' },
    { name: 'n', type: 'BIGINT' },
  ],
  rows: [
    ['page_view', 962],
    ['signup', 57],
  ],
  row_count: 2,
  truncated: false,
  elapsed_ms: 12,
};

// Accounts: Ada registers, signs in, renames herself and adds Grace to her project.

export const userExample = {
  id: ADA_ID,
  email: 'ada@example.com',
  name: 'Ada',
  is_admin: false,
  created_at: CREATED_AT,
  updated_at: CREATED_AT,
};

export const userChangesExample = { name: 'Ada Lovelace' };

export const changedUserExample = {
  ...userExample,
  ...userChangesExample,
  updated_at: '2026-11-25T12:05:00.000Z',
};

const ACCESS_TOKEN =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6IjllMmI2ZTE2MDAwYjVhOGIifQ.' +
  'eyJpc3MiOiJ0YWxseSIsInR5cCI6ImFjY2VzcyIsInN1YiI6IjAxYTIxNmE5LTllNzctNzA1Yy05NjdhLWRhZjU2' +
  'NTBmNWNiMSIsInNpZCI6IjAxYTIxNmE5LTllODMtNzU5NS1hMmEzLWQ2ZDc0YTc2MDE5OCIsImlhdCI6MTc5NTYw' +
  'ODAwMCwiZXhwIjoxNzk1NjA4OTAwfQ.f9PFg-pB_C4wQ-Sh9MC0VOA9YW5m6FZAx89w74FaUgo';

/** The tokens of a sign-in; its refresh_token is the one the refresh example presents. */
export const signedInExample = {
  access_token: ACCESS_TOKEN,
  refresh_token: 'rt_PtYgjmUhBel31iEl2hpChYgCfrL1spNxnyVmihA_2O76UMFxFkM_R5K',
  token_type: 'bearer',
  expires_in: 900,
};

export const refreshedExample = {
  ...signedInExample,
  refresh_token: 'rt_S5dLOknGGr70AWl6P3o_42dN2dFZxh15f0Ig9JNEnhdp4bZbk8QV2cY',
};

// Projects: the answers to the request examples of projects.ts.

export const projectExample = {
  id: 'acme-web',
  tenant: 'acme-web',
  name: 'Acme web',
  role: 'owner',
  created_at: CREATED_AT,
  retention_days: null,
};

export const memberAddedExample = {
  user_id: GRACE_ID,
  email: 'grace@example.com',
  role: 'viewer',
  created_at: CREATED_AT,
};

export const membersExample = [
  { user_id: ADA_ID, email: 'ada@example.com', name: 'Ada', role: 'owner', created_at: CREATED_AT },
  { ...memberAddedExample, name: 'Grace' },
];

const writeKey = {
  id: 'wk_wEhpHFSIppei',
  prefix: 'wk_wEhpHFSIppei',
  project_id: 'acme-web',
  kind: 'write',
  name: 'website',
  allowed_origins: ['https://acme.example'],
  created_at: CREATED_AT,
  revoked_at: null,
};

export const newKeyExample = {
  ...writeKey,
  key: 'wk_wEhpHFSIppeisGLuHxHiVbQ67zNoD3P6TFTKRZkjcnD9gN5HakOFMqk',
};

export const keysExample = [
  writeKey,
  {
    id: 'rk_3JqTn0vXb8Ls',
    prefix: 'rk_3JqTn0vXb8Ls',
    project_id: 'acme-web',
    kind: 'read',
    name: null,
    allowed_origins: null,
    created_at: CREATED_AT,
    revoked_at: '2026-11-25T14:30:00.000Z',
  },
];

export const aliasExample = {
  alias: 'acme-site',
  kind: 'site_id',
  project_id: 'acme-web',
  created_at: CREATED_AT,
};

export const invitationExample = {
  id: 'iv_c1FaIE6x46o_',
  project_id: 'acme-web',
  email: 'grace@example.com',
  role: 'viewer',
  invited_by: ADA_ID,
  created_at: CREATED_AT,
  expires_at: '2026-12-02T12:00:00.000Z',
};

export const newInvitationExample = {
  ...invitationExample,
  token: 'iv_c1FaIE6x46o_C4ENNoaO5hGPu_qw4jiSE9YlfFOF31Zi-eo0Io69NpU',
};

/** Grace's answer to accepting the invitation: the project, with her role in it. */
export const invitationAcceptedExample = { ...projectExample, role: 'viewer' };
