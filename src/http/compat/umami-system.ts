// Umami's public system routes, which its web app and monitoring ask without a credential:
// GET /api/heartbeat ({"ok":true}: the server answers) and GET /api/config (the settings its
// app reads at start), as today's Umami answers them (src/app/api/heartbeat, src/lib/config.ts).

import { Elysia, t } from 'elysia';
import { jsonAnswer } from './docs.ts';

/**
 * Umami's config, as a Tally server has it: not Umami Cloud, not private, no session deletion
 * through Umami's API (Tally erases people: /api/v1/projects/{id}/erasures), no telemetry and
 * no update check to turn off (Tally does neither). Umami's optional URLs and tracker script
 * name are left out, as Umami leaves out those it has none for: Tally serves no tracker script.
 */
const UMAMI_CONFIG = {
  cloudMode: false,
  privateMode: false,
  sessionDeletionEnabled: false,
  telemetryDisabled: true,
  updatesDisabled: true,
} as const;

const HEARTBEAT = { ok: true } as const;

export function umamiSystemRoutes() {
  return new Elysia({ name: 'umami-system', tags: ['compatibility'] })
    .get('/api/heartbeat', () => HEARTBEAT, { detail: HEARTBEAT_DOC })
    .get('/api/config', () => UMAMI_CONFIG, { detail: CONFIG_DOC });
}

const HEARTBEAT_DOC = {
  summary: 'Umami: heartbeat',
  description: 'Umami\'s liveness check: `{"ok":true}`, to anyone, without a credential.',
  responses: {
    200: jsonAnswer('The server answers', t.Object({ ok: t.Literal(true) }), HEARTBEAT),
  },
};

const CONFIG_DOC = {
  summary: 'Umami: server config',
  description:
    "Umami's config, which its web app reads at start, to anyone, without a credential: not " +
    'Cloud, not private, no session deletion through the Umami API, no telemetry and no ' +
    'update check (Tally does neither); no `trackerScriptName`, `faviconUrl`, `linksUrl` or ' +
    '`pixelsUrl` (Tally serves no tracker script, links or pixels).',
  responses: {
    200: jsonAnswer(
      "Tally's answers to Umami's settings",
      t.Object({
        cloudMode: t.Boolean(),
        privateMode: t.Boolean(),
        sessionDeletionEnabled: t.Boolean(),
        telemetryDisabled: t.Boolean(),
        updatesDisabled: t.Boolean(),
      }),
      UMAMI_CONFIG,
    ),
  },
};
