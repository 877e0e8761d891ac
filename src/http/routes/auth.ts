// Accounts and sessions (seed 001): register, login (JSON or the OAuth2 password form, as
// FastAPI's OAuth2PasswordRequestForm), refresh with rotation, logout. Answers that carry
// tokens are never cached (RFC 6749 §5.1).

import { Elysia, t } from 'elysia';
import { type Auth, bearerOf, PASSWORD_CHARS_MIN, presentUser } from '../../auth/index.ts';
import { AppError } from '../../core/index.ts';
import { accountBodyDocs, readAccountBody } from '../account-body.ts';
import { clientIp } from '../context.ts';
import { openApiSchema } from '../model.ts';
import { NO_STORE_HEADERS } from '../no-store.ts';
import { errorDocs, jsonContent } from '../openapi-docs.ts';
import { refreshedExample, signedInExample, userExample } from '../openapi-examples.ts';

export interface AuthRouteDeps {
  auth: Auth;
  /** Take the client IP (for login limits) from X-Forwarded-For. */
  trustProxy: boolean;
}

export const UserOut = t.Object({
  id: t.String(),
  email: t.String({ format: 'email' }),
  name: t.Nullable(t.String()),
  is_admin: t.Boolean(),
  created_at: t.String({ format: 'date-time' }),
  updated_at: t.String({ format: 'date-time' }),
});

const TokenOut = t.Object({
  access_token: t.String({ description: 'JWT (HS256), sent as Authorization: Bearer.' }),
  refresh_token: t.String({ description: 'Opaque; single use, rotated by /auth/refresh.' }),
  token_type: t.Literal('bearer'),
  expires_in: t.Integer({ description: 'Seconds until the access token expires.' }),
});

const Credentials = t.Object({
  email: t.String({ format: 'email', examples: ['ada@example.com'] }),
  password: t.String({ minLength: PASSWORD_CHARS_MIN, examples: ['correct horse battery'] }),
  name: t.Optional(t.String({ maxLength: 120, examples: ['Ada'] })),
});

const PasswordForm = t.Object({
  username: t.String({ description: 'The email address.' }),
  password: t.String(),
  grant_type: t.Optional(t.Literal('password')),
});

const RefreshIn = t.Object({ refresh_token: t.String() });

const CREDENTIALS_EXAMPLE = { email: 'ada@example.com', password: 'correct horse battery' };
const REFRESH_EXAMPLE = { refresh_token: signedInExample.refresh_token };
/** A refresh token in JSON, or in the OAuth2 form (RFC 6749 §6) with its grant_type. */
const refreshContent = {
  ...jsonContent(RefreshIn, REFRESH_EXAMPLE),
  'application/x-www-form-urlencoded': {
    schema: openApiSchema(
      t.Object({ ...RefreshIn.properties, grant_type: t.Optional(t.Literal('refresh_token')) }),
    ),
    example: { grant_type: 'refresh_token', ...REFRESH_EXAMPLE },
  },
};

export function authRoutes(deps: AuthRouteDeps) {
  return new Elysia({ name: 'auth-routes' }).use(registerRoute(deps)).use(sessionRoutes(deps));
}

function registerRoute(deps: AuthRouteDeps) {
  const { auth } = deps;
  return new Elysia({ prefix: '/api/v1/auth', tags: ['auth'] }).post(
    '/register',
    async ({ request, server, set }) => {
      const body = await readAccountBody(request);
      const ip = clientIp(request, server, deps.trustProxy);
      const user = await auth.accounts.register(body, auth.optionalPrincipal(request), ip);
      set.status = 201;
      return presentUser(user);
    },
    {
      parse: 'none',
      detail: {
        summary: 'Create an account',
        description: `Password at least ${PASSWORD_CHARS_MIN} characters; emails are unique.`,
        requestBody: {
          required: true,
          content: jsonContent(Credentials, { ...CREDENTIALS_EXAMPLE, name: 'Ada' }),
        },
        responses: {
          201: { description: 'Created', content: jsonContent(UserOut, userExample) },
          ...accountBodyDocs(),
          ...errorDocs({
            401: 'A bearer token that is no valid access token, or whose session ended',
            403: 'Registration is closed',
            409: 'Email taken',
            422: 'Invalid',
            429: 'Too many accounts registered from this address',
            503: 'Too many password checks running and waiting; see Retry-After',
          }),
        },
      },
    },
  );
}

function sessionRoutes(deps: AuthRouteDeps) {
  const { auth } = deps;
  return new Elysia({ prefix: '/api/v1/auth', tags: ['auth'] })
    .post(
      '/login',
      async ({ request, server, set }) => {
        const body = await readAccountBody(request, { form: true });
        const ip = clientIp(request, server, deps.trustProxy);
        const tokens = await auth.accounts.login(formOrJson(body), ip);
        Object.assign(set.headers, NO_STORE_HEADERS);
        return tokens;
      },
      {
        parse: 'none',
        detail: {
          summary: 'Sign in; returns an access and a refresh token',
          description:
            'JSON {email, password} or the OAuth2 password form (username, password; ' +
            'application/x-www-form-urlencoded). Attempts are limited per IP, per email and ' +
            'IP, and per email.',
          requestBody: {
            required: true,
            content: {
              ...jsonContent(Credentials, CREDENTIALS_EXAMPLE),
              'application/x-www-form-urlencoded': {
                schema: openApiSchema(PasswordForm),
                example: { username: 'ada@example.com', password: 'correct horse battery' },
              },
            },
          },
          responses: {
            200: { description: 'Signed in', content: jsonContent(TokenOut, signedInExample) },
            ...accountBodyDocs(),
            ...errorDocs({
              401: 'Wrong email or password',
              422: 'Email or password missing, over its length limit or not well-formed Unicode',
              429: 'Too many attempts',
              503: 'Too many password checks running and waiting; see Retry-After',
            }),
          },
        },
      },
    )
    .post(
      '/refresh',
      async ({ request, set }) => {
        const body = await readAccountBody(request, { form: true });
        const tokens = auth.accounts.refresh(refreshTokenOf(body, true) as string);
        Object.assign(set.headers, NO_STORE_HEADERS);
        return tokens;
      },
      {
        parse: 'none',
        detail: {
          summary: 'Exchange a refresh token for a new pair',
          description:
            'The presented token stops working. Presenting a token that was already used ' +
            'revokes its whole session (RFC 9700), and is answered 401.',
          requestBody: { required: true, content: refreshContent },
          responses: {
            200: { description: 'New tokens', content: jsonContent(TokenOut, refreshedExample) },
            ...accountBodyDocs(),
            ...errorDocs({
              401: 'Invalid, expired, revoked or reused refresh token',
              422: 'refresh_token missing, empty or not a string; a body not an object',
              429: 'Too many refreshes for this user; the token is not spent',
            }),
          },
        },
      },
    )
    .post(
      '/logout',
      async ({ request }) => {
        const refreshToken = refreshTokenOf(await readAccountBody(request, { form: true }), false);
        auth.accounts.logout(refreshToken, bearerOf(request));
        return new Response(null, { status: 204 });
      },
      {
        parse: 'none',
        detail: {
          summary: 'End a session',
          description:
            'Revokes the session of the refresh token in the body (a used one too), or, when ' +
            'the body has none or one that names no session, of the bearer access token; its ' +
            'refresh and access tokens stop working. Said again, it is answered 204 again.',
          requestBody: {
            required: false,
            description: 'Optional: without it, the session of the bearer token ends.',
            content: refreshContent,
          },
          responses: {
            204: { description: 'Signed out' },
            ...accountBodyDocs(),
            ...errorDocs({
              401: 'Neither a refresh token that names a session nor a valid access token',
              422: 'refresh_token empty or not a string; a body not an object',
            }),
          },
        },
      },
    );
}

/** A login body: a JSON object or a parsed form, as a plain record. */
function formOrJson(body: unknown): Record<string, unknown> {
  if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
    return body as Record<string, unknown>;
  }
  throw AppError.validation([
    {
      loc: ['body'],
      msg: 'send JSON {email, password} or a form with username and password',
      type: 'dict_type',
    },
  ]);
}

/**
 * The refresh token of a refresh (`required`) or a logout (null when the body has none, or has
 * no refresh_token). A wrong type or an empty token is reported as such, not as a missing one.
 */
function refreshTokenOf(body: unknown, required: boolean): string | null {
  const fields = body === undefined ? {} : body;
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) {
    throw invalidRefreshToken(['body'], 'send JSON {refresh_token} or a form', 'dict_type');
  }
  const value = (fields as Record<string, unknown>).refresh_token;
  const loc = ['body', 'refresh_token'];
  if (value === undefined || value === null) {
    if (!required) return null;
    throw invalidRefreshToken(loc, 'refresh_token is required', 'missing');
  }
  if (typeof value !== 'string') {
    throw invalidRefreshToken(loc, 'refresh_token must be a string', 'string_type');
  }
  if (value === '') {
    throw invalidRefreshToken(loc, 'refresh_token must not be empty', 'string_too_short');
  }
  return value;
}

function invalidRefreshToken(loc: string[], msg: string, type: string): AppError {
  return AppError.validation([{ loc, msg, type }]);
}
