// Who may read what through Umami's read API, on Tally's own accounts and keys: POST
// /api/auth/login signs in with Tally's login (the username is the account's email) and answers
// Umami's {token, user}, the token being Tally's access token; /api/auth/verify and /api/me
// answer the user of a token, /api/auth/logout ends its session. A website is a project, named
// by its `umami_website` alias (the website id its tracker sends) or by its project id; the
// bearer is a member's access token or the project's read key (as Umami Cloud's API keys are
// sent, or in `x-umami-api-key`). Every refusal of a website is Umami's one 401, as its
// canViewWebsite answers: nothing tells a website that exists from one that does not.
// AUTH_MODE=open reads any tenant, as Plausible's Stats API does there: the website id is the
// tenant.

import { Elysia, t } from 'elysia';
import { type Auth, type Project, readCredentialOf, type User } from '../../auth/index.ts';
import { AppError, eventLimits, requestLimits } from '../../core/index.ts';
import { readAccountBody } from '../account-body.ts';
import { ANY_MEDIA_TYPE, parseJson, readBody } from '../body.ts';
import { type AppDeps, clientIp, requiredAuthOf } from '../context.ts';
import { TENANT_PATTERN } from '../model.ts';
import { NO_STORE_HEADERS } from '../no-store.ts';
import { jsonContent } from '../openapi-docs.ts';
import { errorAnswers, jsonAnswer, SLOW_BODY_TEXT } from './docs.ts';
import { json } from './responses.ts';
import { UmamiErrorOut, umamiGuard } from './umami-errors.ts';
import { LOGIN_DOC, ME_DOC, VERIFY_DOC, VERIFY_POST_DOC } from './umami-read-docs.ts';

const ID_RE = new RegExp(TENANT_PATTERN);
/** The header Umami Cloud's API keys come in. */
export const API_KEY_HEADER = 'x-umami-api-key';

/** Umami's 401, for every credential that may not read a website. */
function umamiUnauthorized(cause?: unknown): AppError {
  return new AppError('unauthorized', 'Unauthorized', { cause });
}

/** A user as Umami's login and verify answer one (Tally has no teams). */
function umamiUserOf(user: User) {
  return {
    id: user.id,
    username: user.email,
    role: user.isAdmin ? 'admin' : 'user',
    createdAt: new Date(user.createdAt).toISOString(),
    isAdmin: user.isAdmin,
    teams: [],
  };
}

/**
 * A key in `x-umami-api-key` (Umami Cloud's header) is read as Tally's `x-tally-key` when the
 * request names no other credential.
 */
function takeApiKeyHeader(request: Request): void {
  const key = request.headers.get(API_KEY_HEADER);
  if (key === null || readCredentialOf(request) !== null) return;
  request.headers.set('x-tally-key', key);
}

export function umamiAuthRoutes(deps: AppDeps) {
  const { auth } = deps;
  if (auth === undefined) return new Elysia({ name: 'no-umami-auth' });
  const guard = umamiGuard(deps);
  const login = guard((ctx: LoginContext) => loginOf(auth, deps, ctx));
  /** The signed-in user of the request's access token, else Umami's 401. */
  const userOf = (request: Request) => {
    try {
      return umamiUserOf(auth.authenticate(request).user);
    } catch (error) {
      if (error instanceof AppError && error.status === 401) throw umamiUnauthorized(error);
      throw error;
    }
  };
  const verify = guard(async ({ request }: { request: Request }) => {
    if (request.method === 'POST') await checkNoBody(request);
    return json(userOf(request), 200, NO_STORE_HEADERS);
  });
  // Umami's /api/me answers its auth: the user (no teams), the token, no key or share token.
  const me = guard(async ({ request }: { request: Request }) => {
    const { teams: _, ...user } = userOf(request);
    const token = readCredentialOf(request)?.value ?? null;
    return json({ token, authKey: null, shareToken: null, user }, 200, NO_STORE_HEADERS);
  });
  // Umami's logout ends the token's auth; here the session of the access token, as Tally's own.
  // Said again with the same token it is 401, as Umami's: its route authenticates first, and
  // a token whose auth its logout deleted (from Redis) finds no user. Tally's own logout is 204
  // again; this one keeps Umami's answer.
  const logout = guard(async ({ request }: { request: Request }) => {
    await checkNoBody(request);
    let principal: ReturnType<Auth['authenticate']>;
    try {
      principal = auth.authenticate(request);
    } catch (error) {
      if (error instanceof AppError && error.status === 401) throw umamiUnauthorized(error);
      throw error;
    }
    auth.accounts.endSession(principal);
    return json({ ok: true }, 200, NO_STORE_HEADERS);
  });
  return new Elysia({ tags: ['compatibility'] })
    .post('/api/auth/login', login, { parse: 'none', detail: LOGIN_DOC })
    .post('/api/auth/logout', logout, { parse: 'none', detail: LOGOUT_DOC })
    .get('/api/auth/verify', verify, { detail: VERIFY_DOC })
    .post('/api/auth/verify', verify, { parse: 'none', detail: VERIFY_POST_DOC })
    .get('/api/me', me, { detail: ME_DOC });
}

/** A body Umami reads none of: none, or a JSON object; anything else is refused (a 400). */
async function checkNoBody(request: Request): Promise<void> {
  const body = await readAccountBody(request);
  if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body))) {
    throw new AppError('bad_request', 'send no body, or an empty JSON object');
  }
}

const LOGOUT_DOC = {
  summary: 'Umami: sign out',
  description:
    "Ends the session of the bearer access token (Tally's logout): its tokens stop working. " +
    'Send no body, or a JSON object (ignored, as Umami reads none), as to verify; anything ' +
    'else is refused and signs nobody out.',
  requestBody: { required: false, content: jsonContent(t.Object({}), {}) },
  responses: {
    200: jsonAnswer('Signed out', t.Object({ ok: t.Literal(true) }), { ok: true }),
    ...errorAnswers(
      {
        400: 'A body that is no JSON object',
        401: 'No valid access token',
        408: SLOW_BODY_TEXT,
        415: 'Unsupported Content-Type or Content-Encoding',
      },
      () => UmamiErrorOut,
    ),
  },
};

interface LoginContext {
  request: Request;
  server: { requestIP(r: Request): { address: string } | null } | null;
}

/** What login answers for a body that is no JSON object {username, password}. */
const LOGIN_BODY_TEXT = 'send JSON {username, password}';

/**
 * The login body as Umami reads it (`request.json()`, whatever the Content-Type): JSON, or
 * Umami's 400 for anything else (a form, text that is no JSON, a Content-Encoding other than
 * gzip), where Tally's account routes answer 415 for a media type they do not take.
 */
async function loginBodyOf(request: Request): Promise<unknown> {
  try {
    const { bytes } = await readBody(
      request,
      { [ANY_MEDIA_TYPE]: 'json' },
      requestLimits.accountBodyBytesMax,
    );
    return bytes.length === 0 ? undefined : parseJson(bytes);
  } catch (error) {
    if (error instanceof AppError && (error.status === 415 || error.code === 'invalid_json')) {
      throw new AppError('bad_request', `${LOGIN_BODY_TEXT}: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

/** Tally's password login with Umami's body and answer. */
async function loginOf(auth: Auth, deps: AppDeps, ctx: LoginContext) {
  const body = await loginBodyOf(ctx.request);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new AppError('bad_request', LOGIN_BODY_TEXT);
  }
  const { username, password } = body as Record<string, unknown>;
  const ip = clientIp(ctx.request, ctx.server, deps.options.trustProxy);
  try {
    const tokens = await auth.accounts.login({ username, password }, ip);
    const { user } = auth.accounts.verifyAccess(tokens.access_token);
    return json({ token: tokens.access_token, user: umamiUserOf(user) }, 200, NO_STORE_HEADERS);
  } catch (error) {
    if (error instanceof AppError && error.status === 401) {
      throw new AppError('unauthorized', 'message.incorrect-username-password', { cause: error });
    }
    throw error;
  }
}

/** The website a request reads: its tenant, and the project when there is one. */
export interface Website {
  /** The id the request named. */
  id: string;
  tenant: string;
  project: Project | null;
}

/** The website `websiteId` names, if these credentials may read it; else Umami's 401. */
export function websiteOf(deps: AppDeps, request: Request, websiteId: string): Website {
  takeApiKeyHeader(request);
  const auth = requiredAuthOf(deps);
  if (auth !== null && readCredentialOf(request) === null) throw umamiUnauthorized();
  if (websiteId.length > eventLimits.tenantCharsMax || !ID_RE.test(websiteId)) {
    throw umamiUnauthorized();
  }
  if (auth === null) {
    const tenant = deps.tenancy.forRead(request, { tenant_id: websiteId });
    return { id: websiteId, tenant, project: deps.auth?.stores.projects.get(tenant) ?? null };
  }
  const projectId = projectNamed(auth, websiteId);
  let tenant: string;
  try {
    // An unknown website is refused as another project's is: charged, the same headers.
    if (projectId === null) throw auth.tenancy.unknownRefusal(request);
    tenant = deps.tenancy.forRead(request, { tenant_id: projectId });
  } catch (error) {
    if (error instanceof AppError && (error.status === 401 || error.status === 403)) {
      throw umamiUnauthorized(error);
    }
    throw error;
  }
  return { id: websiteId, tenant, project: auth.stores.projects.get(tenant) };
}

/** The project a website id names: by its `umami_website` alias, or its own id. */
function projectNamed(auth: Auth, websiteId: string): string | null {
  const alias = auth.stores.aliases.get(websiteId);
  if (alias !== null) return alias.kind === 'umami_website' ? alias.projectId : null;
  return auth.stores.projects.get(websiteId) === null ? null : websiteId;
}

/**
 * The projects a request may read, for GET /api/websites: a member's projects, or a read
 * key's one. In open mode a request without a member's token or a read key has none to list
 * (every tenant is readable by its name, and open mode keeps no list of tenants).
 */
export function readableProjects(deps: AppDeps, request: Request): Project[] {
  takeApiKeyHeader(request);
  const { auth } = deps;
  const required = requiredAuthOf(deps) !== null;
  const credential = readCredentialOf(request);
  if (auth === undefined || credential === null) {
    if (required) throw umamiUnauthorized();
    return [];
  }
  try {
    if (credential.kind === 'jwt') {
      const { user } = auth.accounts.verifyAccess(credential.value);
      return auth.stores.projects.listFor(user.id);
    }
    const tenant = auth.tenancy.forRead(request, {});
    const project = auth.stores.projects.get(tenant);
    return project === null ? [] : [project];
  } catch (error) {
    if (!(error instanceof AppError) || (error.status !== 401 && error.status !== 403)) throw error;
    if (required) throw umamiUnauthorized(error);
    return [];
  }
}

/** The website id of a project: its oldest `umami_website` alias, else its project id. */
export function websiteIdOf(auth: Auth | undefined, project: Project): string {
  const alias = auth?.stores.aliases.list(project.id).find((a) => a.kind === 'umami_website');
  return alias?.alias ?? project.id;
}

/** A project's domain, for Umami's `domain`: its oldest `plausible_domain` alias, else ''. */
export function domainOf(auth: Auth | undefined, project: Project | null): string {
  if (project === null) return '';
  const alias = auth?.stores.aliases.list(project.id).find((a) => a.kind === 'plausible_domain');
  return alias?.alias ?? '';
}
