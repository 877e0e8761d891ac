// What posthog-js asks of PostHog besides capture, answered as PostHog answers a project with
// no feature flags, recordings, surveys or site apps: the remote config it loads at start
// (GET /array/{token}/config.js, then /array/{token}/config) and the feature flags
// (POST /flags/?v=2, and the /decide/ of older SDKs). Without these answers the SDK logs
// errors on every page, falls back to uncompressed JSON, and leaves `onFeatureFlags` callbacks
// waiting forever. The config advertises gzip-js (which /e/ and /i/v0/e/ read) and names
// /i/v0/e/ as the capture endpoint, as PostHog's does; recordings, surveys, heatmaps, dead
// clicks and web vitals are off, so the SDK never asks for what Tally does not keep.

import { Elysia, t } from 'elysia';
import { AppError, KiB } from '../../core/index.ts';
import type { AppDeps } from '../context.ts';
import { openApiSchema } from '../model.ts';
import {
  EXAMPLE_WRITE_KEY,
  errorAnswers,
  INGEST_ERROR_TEXT,
  jsonAnswer,
  jsonOrTextContent,
  openObject,
} from './docs.ts';
import { objectOf, textOf } from './ingest.ts';
import { posthogErrorShape } from './posthog.ts';
import { readCaptureBody } from './posthog-body.ts';
import { PostHogErrorOut, SLOW_BODY_LATE } from './posthog-docs.ts';
import { CORS_HEADERS, guarded, json, preflightRoutes } from './responses.ts';

/** The POST routes of feature flags, for the app's CORS (preflights from any site). */
export const POSTHOG_FLAG_PATHS = ['/flags/', '/decide/'] as const;

/** A project token as PostHog and Tally write them (phc_…, wk_…); anything else is a 404. */
const TOKEN = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * The 404 of a path whose token is not shaped like one. Any well-formed token gets the config
 * (it is the same for every project), so the answer names the rule, not a missing project.
 */
const NOT_A_TOKEN = {
  detail: 'the token of /array/{token}/config is letters, digits, _ and - (up to 128)',
  code: 'not_found',
};

/** A flags request is a few KB of person and group properties. */
export const FLAGS_BODY_KIB_MAX = 256;
const FLAGS_BODY_BYTES_MAX = FLAGS_BODY_KIB_MAX * KiB;

/** PostHog's remote config for a project with nothing but product analytics switched on. */
function remoteConfigOf(token: string) {
  return {
    token,
    supportedCompression: ['gzip', 'gzip-js'],
    // PostHog says false for a project without active flags; posthog-js then never asks
    // /flags/ and its onFeatureFlags callbacks never run. True has it ask, answered with none.
    hasFeatureFlags: true,
    captureDeadClicks: false,
    capturePerformance: false,
    autocapture_opt_out: false,
    autocaptureExceptions: false,
    analytics: { endpoint: '/i/v0/e/' },
    elementsChainAsString: true,
    errorTracking: { autocaptureExceptions: false, suppressionRules: [] },
    sessionRecording: false,
    heatmaps: false,
    surveys: false,
    productTours: false,
    conversations: false,
    defaultIdentifiedOnly: true,
    siteApps: [],
  };
}

/**
 * The script form of the remote config, as PostHog serves it. The token is a JSON string with
 * `<` escaped, so no token can end the script or a surrounding <script> element.
 */
function remoteConfigScript(token: string): string {
  const literal = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');
  return (
    '(function() {\n' +
    '  window._POSTHOG_REMOTE_CONFIG = window._POSTHOG_REMOTE_CONFIG || {};\n' +
    `  window._POSTHOG_REMOTE_CONFIG[${literal(token)}] = {\n` +
    `    config: ${literal(remoteConfigOf(token))},\n` +
    '    siteApps: []\n' +
    '  };\n' +
    '})();\n'
  );
}

/**
 * What PostHog's /decide/ adds to the remote config for the SDKs that read it there: posthog-js
 * of 2023 (src/autocapture.ts, afterDecideResponse) turns autocapture off unless `config`
 * says `enable_collect_everything`, so without it none of its `$autocapture` clicks were sent.
 */
const DECIDE_COMPAT = {
  config: { enable_collect_everything: true },
  toolbarParams: {},
  isAuthenticated: false,
};

/**
 * The flags answer: no flags. `/flags/?v=2` (and `/decide/?v=4`) answer the v2 shape
 * (`flags`), older versions the v1 shape (`featureFlags`, `featureFlagPayloads`); /decide/
 * and `config=true` add the remote config, as PostHog's do (/decide/ with DECIDE_COMPAT).
 */
function flagsAnswerOf(path: string, query: URLSearchParams, token: string) {
  const decide = path.startsWith('/decide');
  const version = Number(query.get('v') ?? (decide ? 3 : 1));
  const v2 = decide ? version >= 4 : version >= 2;
  const flags = v2 ? { flags: {} } : { featureFlags: {}, featureFlagPayloads: {} };
  const withConfig = decide || query.get('config') === 'true';
  return {
    ...(withConfig ? remoteConfigOf(token) : {}),
    ...(decide ? DECIDE_COMPAT : {}),
    ...flags,
    errorsWhileComputingFlags: false,
    quotaLimited: [],
    requestId: crypto.randomUUID(),
  };
}

export function posthogConfigRoutes(deps: AppDeps) {
  const shape = posthogErrorShape(deps);
  const flags = guarded(shape, async ({ request }: { request: Request }) => {
    const url = new URL(request.url);
    const body = objectOf(await readCaptureBody(request, FLAGS_BODY_BYTES_MAX));
    if (body === undefined) throw new AppError('bad_request', 'the body must be a JSON object');
    const token = textOf(body.token) ?? textOf(body.api_key);
    if (token === undefined) {
      throw new AppError('unauthorized', 'a flags request needs its project token (`token`)');
    }
    // 401/403 as a capture with it would get; no write rate spent (it writes nothing): posthog-js
    // asks at every page load, and the captures that follow must not meet a 429 for it.
    deps.tenancy.forIngest(request, { key: token, rateLimited: false });
    return json(flagsAnswerOf(url.pathname, url.searchParams, token), 200, CORS_HEADERS);
  });
  const app = new Elysia({ tags: ['compatibility'] }).use(preflightRoutes(POSTHOG_FLAG_PATHS));
  for (const path of POSTHOG_FLAG_PATHS) {
    app.post(path, flags, { parse: 'none', detail: flagsDoc(path) });
  }
  app.get('/array/:token/config', ({ params }) => configAnswer(params.token, 'json'), {
    detail: configDoc(),
  });
  app.get('/array/:token/config.js', ({ params }) => configAnswer(params.token, 'js'));
  return app;
}

function configAnswer(token: string, form: 'json' | 'js'): Response {
  if (!TOKEN.test(token)) {
    return json(NOT_A_TOKEN, 404, CORS_HEADERS);
  }
  if (form === 'json') return json(remoteConfigOf(token), 200, CORS_HEADERS);
  return new Response(remoteConfigScript(token), {
    headers: { ...CORS_HEADERS, 'content-type': 'application/javascript; charset=utf-8' },
  });
}

const FlagsRequest = t.Object(
  {
    token: t.String({ description: 'The project key: a write key (`api_key` works too).' }),
    distinct_id: t.Optional(t.String()),
    groups: t.Optional(openObject()),
    person_properties: t.Optional(openObject()),
  },
  { additionalProperties: true },
);

function flagsDoc(path: (typeof POSTHOG_FLAG_PATHS)[number]) {
  const example = { token: EXAMPLE_WRITE_KEY, distinct_id: 'user_42', groups: {} };
  const base64 = Buffer.from(JSON.stringify(example)).toString('base64');
  const e = INGEST_ERROR_TEXT;
  const answer = flagsAnswerOf(path, new URLSearchParams('v=2'), EXAMPLE_WRITE_KEY);
  return {
    summary: `PostHog: feature flags (${path})`,
    description:
      'Tally keeps no feature flags: every request is answered with none, in the shape the ' +
      "SDK asked for (`?v=2`: `flags`; older: `featureFlags`), so the SDK's flag callbacks run " +
      'and every flag reads as not set. Bodies as capture takes them (JSON, gzip-js, base64 ' +
      'form).',
    requestBody: {
      required: true,
      content: {
        ...jsonOrTextContent(FlagsRequest, example),
        'application/x-www-form-urlencoded': {
          schema: openApiSchema(
            t.Object({ data: t.String({ description: 'The JSON body, base64.' }) }),
          ),
          example: `data=${encodeURIComponent(base64)}`,
        },
      },
    },
    responses: {
      200: jsonAnswer('No flags', openObject('No flags, in the asked-for shape.'), answer),
      ...errorAnswers(
        {
          400: 'Malformed JSON, gzip or form',
          401: 'No token, or (AUTH_MODE=required) not a valid write key',
          403: e.forbidden,
          413: `A body over ${FLAGS_BODY_KIB_MAX} KiB`,
          415: e.mediaType,
          503: `${SLOW_BODY_LATE} (a 408 on other routes, a 5xx posthog-js retries)`,
        },
        () => PostHogErrorOut,
      ),
    },
  };
}

/**
 * The script form's operation, written by hand: the OpenAPI plugin leaves out a route whose
 * path has a dot (app.ts adds this to the document's paths).
 */
export function posthogConfigScriptPathDocs() {
  return {
    '/array/{token}/config.js': {
      get: {
        operationId: 'getArrayByTokenConfigJs',
        tags: ['compatibility'],
        summary: 'PostHog: remote config, the script posthog-js loads first',
        description:
          'Sets `window._POSTHOG_REMOTE_CONFIG[token] = {config, siteApps: []}`, the config of ' +
          '`/array/{token}/config`.',
        parameters: [
          {
            name: 'token',
            in: 'path' as const,
            required: true,
            description: "The project's write key, as posthog-js is given it.",
            schema: { type: 'string' as const },
          },
        ],
        responses: {
          200: {
            description: 'The remote config, as a script',
            content: {
              'application/javascript': {
                schema: { type: 'string' as const },
                example: remoteConfigScript(EXAMPLE_WRITE_KEY),
              },
            },
          },
          404: configDoc().responses[404],
        },
      },
    },
  };
}

/** The JSON form's documentation (OpenAPI leaves out paths with a dot, as config.js). */
function configDoc() {
  return {
    summary: 'PostHog: remote config',
    description:
      'The remote config of a PostHog project with only product analytics: gzip-js bodies to ' +
      '/i/v0/e/, no recordings, surveys, heatmaps or site apps; the same for every token. ' +
      'posthog-js first loads its script form, `/array/{token}/config.js`, which sets ' +
      '`window._POSTHOG_REMOTE_CONFIG[token] = {config, siteApps: []}`.',
    responses: {
      200: jsonAnswer(
        'The remote config',
        openObject('The remote config.'),
        remoteConfigOf(EXAMPLE_WRITE_KEY),
      ),
      404: jsonAnswer(
        'Not a token (letters, digits, `_` and `-`, up to 128)',
        t.Object({ detail: t.String(), code: t.String() }),
        NOT_A_TOKEN,
      ),
    },
  };
}
