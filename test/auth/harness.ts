// An app in AUTH_MODE=required for tests: the real engine, the real routes of createApp (events,
// metrics, reads, SQL) with auth's resolver, plus the auth, user and project routes and CORS —
// composed the way createApp is to compose them. Logs are captured line by line.

import {
  type Auth,
  type AuthOptions,
  bootstrapAuth,
  createAuth,
  storedEventsProbe,
} from '../../src/auth/index.ts';
import { createLogger, ManualClock } from '../../src/core/index.ts';
import { type Engine, type EngineOptions, openEngine } from '../../src/engine/index.ts';
import { createApp } from '../../src/http/index.ts';
import { countEvents, engineOptions, T0, TEST_EXPORT_PAGE } from '../helpers/app.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

export { T0 };

/** Cheap argon2id parameters: the algorithm is the same, the tests are fast. */
export const TEST_PASSWORD_COST = { memoryCost: 1024, timeCost: 1 };

export interface Call {
  body?: unknown;
  form?: Record<string, string>;
  text?: string;
  /** A raw body (e.g. gzip), sent with the headers given. */
  bytes?: Uint8Array<ArrayBuffer>;
  headers?: Record<string, string>;
  token?: string;
}

export interface AuthApp {
  auth: Auth;
  engine: Engine;
  clock: ManualClock;
  dataDir: string;
  logs: string[];
  call(method: string, path: string, call?: Call): Promise<Response>;
  /** Answers a request built by the caller (e.g. one whose body is a stream it feeds). */
  handle(request: Request): Promise<Response>;
  /** Stored events of a tenant, counted through the store (segments ∪ hot). */
  count(tenant: string): Promise<number>;
  /** Closes the engine and opens the app anew over the same directory (a clean restart). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export interface AuthAppOptions {
  auth?: Partial<AuthOptions>;
  readOrigins?: string[];
  trustProxy?: boolean;
  /** Engine options to override, e.g. a small in-memory budget (HOT_BYTES_MAX). */
  engine?: Partial<EngineOptions>;
  /** NO_RETRY_WAIT: how long Umami's and Plausible's requests wait for room (0 by default). */
  noRetryWaitMs?: number;
}

export async function makeAuthApp(options: AuthAppOptions = {}): Promise<AuthApp> {
  const { dir, remove } = makeTempDir('tally-auth-');
  const clock = new ManualClock(T0);
  const logs: string[] = [];
  const log = createLogger('info', (line) => logs.push(line));
  let current = await buildAuthApp(dir, clock, log, options);
  return {
    get auth() {
      return current.auth;
    },
    get engine() {
      return current.engine;
    },
    clock,
    dataDir: dir,
    logs,
    call: (method, path, call = {}) => current.app.handle(requestOf(method, path, call)),
    handle: (request) => current.app.handle(request),
    count: (tenant) => countEvents(current.engine.store, tenant),
    async restart() {
      await current.engine.close();
      current = await buildAuthApp(dir, clock, log, options);
    },
    async close() {
      await current.engine.close();
      remove();
    },
  };
}

async function buildAuthApp(
  dir: string,
  clock: ManualClock,
  log: ReturnType<typeof createLogger>,
  options: AuthAppOptions,
) {
  const engine = await openEngine(engineOptions(dir, clock, options.engine));
  const auth = createAuth({
    db: engine.store.sqlite,
    clock,
    options: { passwordCost: TEST_PASSWORD_COST, ...options.auth },
    tenantHoldsEvents: storedEventsProbe(engine.store),
  });
  const trustProxy = options.trustProxy ?? false;
  const app = createApp({
    engine,
    auth,
    tenancy: auth.tenancy,
    clock,
    log,
    options: {
      trustProxy,
      retryAfterSeconds: 1,
      queryTimeoutMs: 10_000,
      queryRowsMax: 10_000,
      exportPage: TEST_EXPORT_PAGE,
      corsOrigins: options.readOrigins ?? [],
      noRetryWaitMs: options.noRetryWaitMs ?? 0,
    },
    isAccepting: () => true,
  });
  return { auth, engine, app };
}

function requestOf(method: string, path: string, call: Call): Request {
  const headers: Record<string, string> = { ...call.headers };
  if (call.token !== undefined) headers.authorization = `Bearer ${call.token}`;
  let body: string | Uint8Array<ArrayBuffer> | undefined;
  if (call.form !== undefined) {
    headers['content-type'] ??= 'application/x-www-form-urlencoded';
    body = new URLSearchParams(call.form).toString();
  } else if (call.text !== undefined) {
    body = call.text;
  } else if (call.bytes !== undefined) {
    body = call.bytes;
  } else if (call.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = JSON.stringify(call.body);
  }
  return new Request(`http://localhost${path}`, { method, headers, body });
}

export const json = (r: Response) => r.json() as Promise<Record<string, unknown>>;

export interface Tokens {
  access_token: string;
  refresh_token: string;
}

/** Registers and signs in a user; returns their tokens. */
export async function signUp(
  t: AuthApp,
  email: string,
  password = 'correct horse 1',
): Promise<Tokens> {
  const registered = await t.call('POST', '/api/v1/auth/register', { body: { email, password } });
  if (registered.status !== 201) throw new Error(`register ${email}: ${registered.status}`);
  const login = await t.call('POST', '/api/v1/auth/login', { body: { email, password } });
  if (login.status !== 200) throw new Error(`login ${email}: ${login.status}`);
  return (await login.json()) as Tokens;
}

/** Bootstraps the admin (and the default project) and signs in as them: an access token. */
export async function adminToken(t: AuthApp): Promise<string> {
  const boot = await bootstrapAuth(t.auth, { dataDir: t.dataDir });
  if (boot === null) throw new Error('expected a bootstrap');
  const res = await t.call('POST', '/api/v1/auth/login', {
    body: { email: boot.adminEmail, password: boot.adminPassword },
  });
  return ((await json(res)) as { access_token: string }).access_token;
}

/** Creates a project owned by the holder of `token`. */
export async function makeProject(t: AuthApp, token: string, id: string): Promise<void> {
  const res = await t.call('POST', '/api/v1/projects', { token, body: { id, name: id } });
  if (res.status !== 201) throw new Error(`project ${id}: ${res.status} ${await res.text()}`);
}

/** Creates a key of a project; returns the whole key and its id. */
export async function makeKey(
  t: AuthApp,
  token: string,
  project: string,
  kind: 'write' | 'read',
  extra: Record<string, unknown> = {},
): Promise<{ key: string; id: string }> {
  const res = await t.call('POST', `/api/v1/projects/${project}/keys`, {
    token,
    body: { kind, ...extra },
  });
  if (res.status !== 201) throw new Error(`key for ${project}: ${res.status} ${await res.text()}`);
  return (await res.json()) as { key: string; id: string };
}

/**
 * Invites `email` to `project` as `role`, by the owner holding `ownerToken`; returns the
 * invitation's token (shown once).
 */
export async function invite(
  t: AuthApp,
  ownerToken: string,
  project: string,
  email: string,
  role = 'viewer',
): Promise<string> {
  const res = await t.call('POST', `/api/v1/projects/${project}/invitations`, {
    token: ownerToken,
    body: { email, role },
  });
  if (res.status !== 201) throw new Error(`invite ${email}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

/**
 * Makes the holder of `inviteeToken` (whose account email is `email`) a member of `project`
 * the way anyone joins one: invited by an owner, then accepting. Returns the accept's answer
 * (200 with the project, or the refusal, e.g. a bound's 409).
 */
export async function join(
  t: AuthApp,
  ownerToken: string,
  project: string,
  invitee: { email: string; token: string },
  role = 'viewer',
): Promise<Response> {
  const token = await invite(t, ownerToken, project, invitee.email, role);
  return t.call('POST', '/api/v1/invitations/accept', { token: invitee.token, body: { token } });
}
