// The credentials of the OpenAPI document: its security schemes and each operation's
// requirement. Without them Swagger UI at /openapi has no "Authorize" (with AUTH_MODE=required
// every "Try it out" but the public routes is a 401) and a client generated from the document
// sends no credential. An operation names the schemes its route reads (auth/credentials.ts:
// `Authorization: Bearer` or `X-Tally-Key`, and the SDKs' own places); `{}` among them marks a
// route that also takes a request without one (a keyless beacon of a site alias).

type Requirement = Record<string, string[]>;
type Operation = { security?: Requirement[] };
export type SecuredDocument = {
  paths?: Record<string, Record<string, Operation>>;
  components?: { securitySchemes?: Record<string, unknown> };
};

const REQUIRED_ONLY = 'Needed with AUTH_MODE=required only; in open mode it is ignored.';

/** The schemes, by the names the operations' requirements use. */
const SECURITY_SCHEMES = {
  bearer: {
    type: 'http',
    scheme: 'bearer',
    description:
      'An access token (a JWT from POST /api/v1/auth/login) or an API key: a write key ' +
      `(wk_…) for ingest, a read key (rk_…) for reads. ${REQUIRED_ONLY}`,
  },
  tallyKey: {
    type: 'apiKey',
    in: 'header',
    name: 'X-Tally-Key',
    description: `The credential of Authorization: Bearer, in Tally's own header. ${REQUIRED_ONLY}`,
  },
  segmentBasic: {
    type: 'http',
    scheme: 'basic',
    description: `Segment's: the write key as the user, no password. ${REQUIRED_ONLY}`,
  },
  umamiApiKey: {
    type: 'apiKey',
    in: 'header',
    name: 'x-umami-api-key',
    description: `Umami Cloud's header: a read key (rk_…). ${REQUIRED_ONLY}`,
  },
  liveToken: {
    type: 'apiKey',
    in: 'query',
    name: 'token',
    description:
      'The live WebSocket only (its clients cannot set headers): a read key or an access ' +
      `token; browsers send it as the subprotocol \`bearer.<token>\` instead. ${REQUIRED_ONLY}`,
  },
} as const;

type Scheme = keyof typeof SECURITY_SCHEMES;
const any = (...schemes: Scheme[]): Requirement[] => schemes.map((s) => ({ [s]: [] }));

/** No credential: the route is public, or its credential is in the body or the path. */
const PUBLIC: Requirement[] = [];
/** Tally's own: what reads and ingest take (a key or an access token, by its shape). */
const KEY = any('bearer', 'tallyKey');
/** Keyless as well: a beacon naming a site alias of a project needs no key. */
const KEY_OR_NONE = [...KEY, {}];

/** Each rule: method and path pattern → requirement; the first that matches applies. */
const RULES: [method: string, path: RegExp, requirement: Requirement[]][] = [
  ['get', /^\/(health|ready|healthz)?$/, PUBLIC],
  ['post', /^\/api\/v1\/auth\/(register|login|refresh)$/, PUBLIC],
  ['post', /^\/api\/auth\/login$/, PUBLIC], // Umami's login: the password is the credential
  ['get', /^\/api\/(heartbeat|config)$/, PUBLIC], // Umami's: its app asks them signed out
  ['post', /^\/v1\/m$/, PUBLIC], // analytics.js's usage counters: answered, never stored
  ['get', /^\/v1\/pixel\/[a-z]+$/, PUBLIC], // Segment's pixel: the key is in its `data`
  ['get', /^\/array\/\{token\}\/config(\.js)?$/, PUBLIC], // posthog-js: the key is the path
  // Logout: the session of the body's refresh token, else of the bearer access token.
  ['post', /^\/api\/v1\/auth\/logout$/, [...any('bearer'), {}]],
  // Accounts and the server's status: a user's access token.
  ['*', /^\/api\/v1\/(users|projects|invitations|status)(\/|$)/, any('bearer')],
  ['post', /^\/v1\/[a-z]+$/, [...any('segmentBasic'), ...KEY]],
  ['post', /^\/api\/auth\/logout$/, any('bearer')], // Umami's: the session of an access token
  ['*', /^\/api\/(websites|realtime|auth\/verify)(\/|$)/, any('bearer', 'umamiApiKey', 'tallyKey')],
  ['get', /^\/api\/v1\/(live|ws\/metrics)$/, [...KEY, ...any('liveToken')]],
  // Beacons of Umami, Plausible and the reference services: a site alias names the project.
  ['post', /^\/(api\/(send|batch|event)|events|events\/bulk|event)$/, KEY_OR_NONE],
  ['*', /./, KEY],
];

/** The requirement of one operation, by RULES. */
function securityOf(method: string, path: string): Requirement[] {
  for (const [m, pattern, requirement] of RULES) {
    if ((m === '*' || m === method) && pattern.test(path)) return requirement;
  }
  return KEY;
}

/** Puts the schemes and each operation's requirement in `doc` (in place, idempotent). */
export function documentSecurity(doc: SecuredDocument): void {
  doc.components ??= {};
  doc.components.securitySchemes = { ...doc.components.securitySchemes, ...SECURITY_SCHEMES };
  for (const [path, operations] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(operations)) {
      if (typeof op !== 'object' || op === null) continue;
      op.security = securityOf(method, path).map((r) => ({ ...r }));
    }
  }
}
