// The signed-in user's own account (seed 001): read it, change name, email or password (the
// password only with the current one; other sessions are then signed out), or delete it.

import { Elysia, t } from 'elysia';
import { type Auth, PASSWORD_CHARS_MIN, presentUser } from '../../auth/index.ts';
import { accountBodyDocs, readAccountBody } from '../account-body.ts';
import { clientIp } from '../context.ts';
import { errorDocs, jsonContent } from '../openapi-docs.ts';
import { changedUserExample, userChangesExample, userExample } from '../openapi-examples.ts';
import { UserOut } from './auth.ts';

const UserChangesIn = t.Object({
  name: t.Optional(t.Nullable(t.String({ maxLength: 120 }))),
  email: t.Optional(t.String({ format: 'email' })),
  password: t.Optional(t.String({ minLength: PASSWORD_CHARS_MIN })),
  current_password: t.Optional(
    t.String({ description: 'Required to change the email or the password.' }),
  ),
});

export interface UserRouteDeps {
  auth: Auth;
  /** Take the client IP (for the current_password limit) from X-Forwarded-For. */
  trustProxy: boolean;
}

export function userRoutes(deps: UserRouteDeps) {
  const { auth } = deps;
  return new Elysia({ prefix: '/api/v1/users', tags: ['users'] })
    .get('/me', ({ request }) => presentUser(auth.authenticate(request).user), {
      detail: {
        summary: 'The signed-in user',
        responses: {
          200: { description: 'The account', content: jsonContent(UserOut, userExample) },
          ...errorDocs({ 401: 'Not signed in' }),
        },
      },
    })
    .put(
      '/me',
      async ({ request, server }) => {
        const principal = auth.authenticate(request);
        const body = await readAccountBody(request);
        const ip = clientIp(request, server, deps.trustProxy);
        return presentUser(await auth.accounts.updateMe(principal, body, ip));
      },
      {
        parse: 'none',
        detail: {
          summary: 'Change name, email or password',
          description:
            'A new email or password needs current_password; a new password also revokes ' +
            'every other session. current_password attempts are limited per user and per IP.',
          requestBody: {
            required: true,
            content: jsonContent(UserChangesIn, userChangesExample),
          },
          responses: {
            200: {
              description: 'The updated account',
              content: jsonContent(UserOut, changedUserExample),
            },
            ...accountBodyDocs(),
            ...errorDocs({
              401: 'Not signed in',
              403: 'Wrong current password',
              409: 'Email taken',
              422: 'Invalid value',
              429: 'Too many current_password attempts',
              503: 'Too many password checks running and waiting; see Retry-After',
            }),
          },
        },
      },
    )
    .delete(
      '/me',
      ({ request }) => {
        auth.accounts.deleteMe(auth.authenticate(request));
        return new Response(null, { status: 204 });
      },
      {
        detail: {
          summary: 'Delete the account, its sessions and its memberships',
          description:
            'Refused (409, naming them) while you are the only owner of a project: make ' +
            'another member an owner first. The only admin is refused (409) too: a start ' +
            'that finds no admin makes one, who takes over the default project.',
          responses: {
            204: { description: 'Deleted' },
            ...errorDocs({
              401: 'Not signed in',
              409: 'The only owner of a project, or the only admin',
            }),
          },
        },
      },
    );
}
