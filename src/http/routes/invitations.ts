// Invitations: how people join a project. Owners invite an email address and share the token
// (Tally sends no email), list the pending invitations and revoke them; the signed-in account
// with that address accepts. Thin handlers over auth's InvitationService; the token appears in
// exactly one response, the one that creates the invitation.

import { Elysia, t } from 'elysia';
import { type Auth, presentInvitation, presentProject, ROLES } from '../../auth/index.ts';
import { NO_STORE_HEADERS } from '../no-store.ts';
import { errorDocs, jsonContent } from '../openapi-docs.ts';
import {
  invitationAcceptedExample,
  invitationExample,
  newInvitationExample,
} from '../openapi-examples.ts';
import {
  bodyDocs,
  callerAndBody,
  common,
  commonRead,
  created,
  idParam,
  noContent,
  ok,
  ownerOnly,
  ProjectOut,
  projectCaller,
  stamp,
} from './project-common.ts';

const InvitationOut = t.Object({
  id: t.String({ description: 'The public start of the token; names the invitation.' }),
  project_id: t.String(),
  email: t.String(),
  role: t.UnionEnum(ROLES),
  invited_by: t.String({
    description: 'The owner who invited; stepping down or leaving revokes their invitations.',
  }),
  created_at: stamp,
  expires_at: stamp,
});
const NewInvitationOut = t.Composite([
  InvitationOut,
  t.Object({
    token: t.String({ description: 'Shown once: share it with the invitee to accept.' }),
  }),
]);
const InvitationIn = t.Object({
  email: t.String({ format: 'email' }),
  role: t.Optional(t.UnionEnum(ROLES, { description: 'viewer when not given' })),
});
const AcceptIn = t.Object({ token: t.String({ description: 'The `iv_…` token of the invite.' }) });

export function invitationRoutes(auth: Auth) {
  return new Elysia({ tags: ['projects'] })
    .use(inviteRoute(auth))
    .use(pendingRoutes(auth))
    .use(acceptRoute(auth));
}

function inviteRoute(auth: Auth) {
  const { invitations } = auth;
  return new Elysia({ prefix: '/api/v1/projects' }).post(
    '/:id/invitations',
    async ({ params, request, set }) => {
      const { principal, body } = await callerAndBody(auth, request, params.id);
      const made = invitations.invite(principal, params.id, body);
      set.status = 201;
      Object.assign(set.headers, NO_STORE_HEADERS); // the token is shown this once
      return { ...presentInvitation(made.info), token: made.token };
    },
    {
      params: t.Object(idParam),
      parse: 'none',
      detail: {
        summary: 'Invite an email address to the project (owners)',
        description:
          'The same answer whether or not an account has the address. The token is in this ' +
          'response only (stored as a hash): share it; the account with this email accepts ' +
          'it with POST /api/v1/invitations/accept before it expires (INVITATION_TTL, 7 ' +
          'days). Inviting the address again replaces its invitation (the old token stops ' +
          'working). A project has at most INVITATIONS_PER_PROJECT_MAX pending invitations. ' +
          'Limited per caller together with role changes.',
        requestBody: {
          required: true,
          content: jsonContent(InvitationIn, { email: 'grace@example.com', role: 'viewer' }),
        },
        responses: {
          ...created(NewInvitationOut, newInvitationExample),
          ...common,
          ...ownerOnly,
          ...bodyDocs,
          ...errorDocs({
            409:
              'The address is a member’s, or the project has INVITATIONS_PER_PROJECT_MAX ' +
              'pending invitations',
            429: 'Too many invitations and role changes; retry later',
          }),
        },
      },
    },
  );
}

function pendingRoutes(auth: Auth) {
  const { invitations } = auth;
  return new Elysia({ prefix: '/api/v1/projects' })
    .get(
      '/:id/invitations',
      ({ params, request }) =>
        invitations.list(projectCaller(auth, request, params.id), params.id).map(presentInvitation),
      {
        params: t.Object(idParam),
        detail: {
          summary: 'Pending invitations, without their tokens (owners)',
          responses: {
            ...ok(t.Array(InvitationOut), [invitationExample]),
            ...commonRead,
            ...errorDocs({ 403: 'Only owners may do this' }),
          },
        },
      },
    )
    .delete(
      '/:id/invitations/:invitation_id',
      ({ params, request }) => {
        invitations.revoke(
          projectCaller(auth, request, params.id),
          params.id,
          params.invitation_id,
        );
        return noContent();
      },
      {
        params: t.Object({ ...idParam, invitation_id: t.String({ maxLength: 64 }) }),
        detail: {
          summary: 'Revoke an invitation; its token stops working at once',
          responses: {
            204: { description: 'Revoked' },
            ...common,
            ...ownerOnly,
            ...errorDocs({ 404: 'No such project (or not a member), or no such invitation' }),
          },
        },
      },
    );
}

function acceptRoute(auth: Auth) {
  return new Elysia({ prefix: '/api/v1/invitations' }).post(
    '/accept',
    async ({ request }) => {
      const { principal, body } = await callerAndBody(auth, request);
      return presentProject(auth.invitations.accept(principal, body));
    },
    {
      parse: 'none',
      detail: {
        summary: 'Accept an invitation: join its project with its role',
        description:
          'The signed-in account’s email must be the invited one. The answer is the project ' +
          'with your role in it. A token works once: accepting it deletes the invitation.',
        requestBody: {
          required: true,
          content: jsonContent(AcceptIn, { token: newInvitationExample.token }),
        },
        responses: {
          ...ok(ProjectOut, invitationAcceptedExample),
          ...bodyDocs,
          ...errorDocs({
            401: 'Not signed in',
            403: 'The invitation is for another email address',
            404: 'No pending invitation has this token (accepted, revoked, replaced, unknown)',
            409:
              'You are already a member, or the project has MEMBERS_PER_PROJECT_MAX members, ' +
              'or (as an owner) you own PROJECTS_PER_USER_MAX projects',
            410: 'The invitation has expired',
          }),
        },
      },
    },
  );
}
