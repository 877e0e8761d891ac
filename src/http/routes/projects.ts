// Projects (tenants), their members, API keys and site aliases. Thin handlers over auth's
// ProjectService, which decides who may do what; a new key's secret appears in exactly one
// response, the one that creates it. A project's deletion: project-delete.ts; invitations
// (how people join): invitations.ts; erasures of one person's events: erasures.ts.

import { Elysia, t } from 'elysia';
import {
  ALIAS_KINDS,
  type Auth,
  KEY_KINDS,
  presentAddedMember,
  presentAlias,
  presentKey,
  presentMember,
  presentProject,
  ROLES,
} from '../../auth/index.ts';
import { eventLimits } from '../../core/index.ts';
import type { Engine } from '../../engine/index.ts';
import { TENANT_PATTERN } from '../model.ts';
import { NO_STORE_HEADERS } from '../no-store.ts';
import { errorDocs, jsonContent } from '../openapi-docs.ts';
import {
  aliasExample,
  keysExample,
  memberAddedExample,
  membersExample,
  newKeyExample,
  projectExample,
} from '../openapi-examples.ts';
import { erasureRoutes } from './erasures.ts';
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
  RetentionDays,
  stamp,
} from './project-common.ts';
import { type ProjectDeleteDeps, projectDeleteRoute } from './project-delete.ts';
import { projectUpdateRoute } from './project-update.ts';

const ProjectIn = t.Object({
  name: t.String({ minLength: 1, maxLength: 120, examples: ['Acme web'] }),
  id: t.Optional(t.String({ pattern: TENANT_PATTERN, maxLength: eventLimits.tenantCharsMax })),
  retention_days: t.Optional(RetentionDays),
});
const MemberOut = t.Object({
  user_id: t.String(),
  email: t.String(),
  name: t.Nullable(t.String()),
  role: t.UnionEnum(ROLES),
  created_at: stamp,
});
const MemberAddedOut = t.Object({
  user_id: t.String(),
  email: t.String(),
  role: t.UnionEnum(ROLES),
  created_at: stamp,
});
const MemberIn = t.Object({ email: t.String(), role: t.UnionEnum(ROLES) });
const KeyOut = t.Object({
  id: t.String(),
  prefix: t.String({ description: 'The start of the key; the rest is never shown again.' }),
  project_id: t.String(),
  kind: t.UnionEnum(KEY_KINDS),
  name: t.Nullable(t.String()),
  allowed_origins: t.Nullable(t.Array(t.String())),
  created_at: stamp,
  revoked_at: t.Nullable(stamp),
});
const NewKeyOut = t.Composite([
  KeyOut,
  t.Object({ key: t.String({ description: 'Shown once.' }) }),
]);
const KeyIn = t.Object({
  kind: t.UnionEnum(KEY_KINDS),
  name: t.Optional(t.String({ maxLength: 120 })),
  allowed_origins: t.Optional(
    t.Array(t.String(), {
      description:
        'Write keys only: the Origins allowed to use the key (1 to 32; an empty list is 422, ' +
        'leave it out for a key usable from any origin). Each is kept as a browser sends its ' +
        'Origin (host lower-cased and in punycode, no default port); a path or query is 422.',
    }),
  ),
});
const AliasOut = t.Object({
  alias: t.String(),
  kind: t.UnionEnum(ALIAS_KINDS),
  project_id: t.String(),
  created_at: stamp,
});
const AliasIn = t.Object({
  alias: t.String({ pattern: TENANT_PATTERN, maxLength: eventLimits.tenantCharsMax }),
  kind: t.Optional(t.UnionEnum(ALIAS_KINDS)),
});

export function projectRoutes(deps: ProjectDeleteDeps & { engine: Pick<Engine, 'erasures'> }) {
  return new Elysia({ prefix: '/api/v1/projects', tags: ['projects'] })
    .use(projectCore(deps.auth))
    .use(projectUpdateRoute(deps.auth))
    .use(projectDeleteRoute(deps))
    .use(memberRoutes(deps.auth))
    .use(keyRoutes(deps.auth))
    .use(aliasRoutes(deps.auth))
    .use(erasureRoutes(deps));
}

function projectCore(auth: Auth) {
  const { projects } = auth;
  return new Elysia()
    .post(
      '',
      async ({ request, set }) => {
        const { principal, body } = await callerAndBody(auth, request);
        const project = await projects.create(principal, body);
        set.status = 201;
        return presentProject(project);
      },
      {
        parse: 'none',
        detail: {
          summary: 'Create a project (a tenant); you become its owner',
          description:
            'Its id is the tenant string; derived from the name when not given. An id whose ' +
            'tenant already holds events (ingested before auth was required) is 409 unless ' +
            'an admin asks. `retention_days` (days of events kept; 0 keeps them forever; ' +
            'absent or null follows the server’s RETENTION_DAYS) can be changed later with ' +
            'PATCH. A user owns at most PROJECTS_PER_USER_MAX projects (409 ' +
            '`limit_reached`, admins included) and creates them at a limited rate (429; ' +
            'admins exempt).',
          requestBody: { required: true, content: jsonContent(ProjectIn, { name: 'Acme web' }) },
          responses: {
            ...created(ProjectOut, projectExample),
            ...common,
            ...bodyDocs,
            ...errorDocs({
              409: 'Id taken, its tenant already holds events, or you own PROJECTS_PER_USER_MAX',
              429: 'Too many projects created; see Retry-After',
            }),
          },
        },
      },
    )
    .get('', ({ request }) => projects.list(auth.authenticate(request)).map(presentProject), {
      detail: {
        summary: 'Your projects',
        responses: { ...ok(t.Array(ProjectOut), [projectExample]), ...common },
      },
    })
    .get(
      '/:id',
      ({ params, request }) =>
        presentProject(projects.get(projectCaller(auth, request, params.id), params.id)),
      {
        params: t.Object(idParam),
        detail: {
          summary: 'One of your projects',
          responses: { ...ok(ProjectOut, projectExample), ...commonRead },
        },
      },
    );
}

function memberRoutes(auth: Auth) {
  const { projects } = auth;
  return new Elysia()
    .get(
      '/:id/members',
      ({ params, request }) =>
        projects.members(projectCaller(auth, request, params.id), params.id).map(presentMember),
      {
        params: t.Object(idParam),
        detail: {
          summary: 'Members',
          responses: { ...ok(t.Array(MemberOut), membersExample), ...commonRead },
        },
      },
    )
    .post(
      '/:id/members',
      async ({ params, request, set }) => {
        const { principal, body } = await callerAndBody(auth, request, params.id);
        const member = projects.setMember(principal, params.id, body);
        set.status = 201;
        return presentAddedMember(member);
      },
      {
        params: t.Object(idParam),
        parse: 'none',
        detail: {
          summary: 'Change a member’s role, the member found by email',
          description:
            'People join a project by accepting an invitation (POST ' +
            '/api/v1/projects/{id}/invitations); an email that is no member’s is 404, whether ' +
            'or not an account has it. Limited per caller together with invitations. The ' +
            'answer carries no display name.',
          requestBody: {
            required: true,
            content: jsonContent(MemberIn, { email: 'grace@example.com', role: 'owner' }),
          },
          responses: {
            ...created(MemberAddedOut, { ...memberAddedExample, role: 'owner' }),
            ...common,
            ...ownerOnly,
            ...bodyDocs,
            ...errorDocs({
              404:
                'No such project, or the email is no member’s: invite them with POST ' +
                '/api/v1/projects/{id}/invitations',
              409:
                'The last owner cannot step down, or the member owns PROJECTS_PER_USER_MAX ' +
                'projects',
              429: 'Too many invitations and role changes; retry later',
            }),
          },
        },
      },
    )
    .delete(
      '/:id/members/:user_id',
      ({ params, request }) => {
        projects.removeMember(projectCaller(auth, request, params.id), params.id, params.user_id);
        return noContent();
      },
      {
        params: t.Object({ ...idParam, user_id: t.String({ maxLength: 64 }) }),
        detail: {
          summary: 'Remove a member (owners; or yourself). The last owner stays.',
          responses: { 204: { description: 'Removed' }, ...common, ...ownerOnly },
        },
      },
    );
}

function keyRoutes(auth: Auth) {
  const { projects } = auth;
  return new Elysia()
    .post(
      '/:id/keys',
      async ({ params, request, set }) => {
        const { principal, body } = await callerAndBody(auth, request, params.id);
        const made = projects.createKey(principal, params.id, body);
        set.status = 201;
        Object.assign(set.headers, NO_STORE_HEADERS); // the key is shown this once
        return { ...presentKey(made.info), key: made.key };
      },
      {
        params: t.Object(idParam),
        parse: 'none',
        detail: {
          summary: 'Create a write key (wk_…, public, ingest only) or a read key (rk_…, secret)',
          description:
            'The key is in this response only; it is stored as a hash. A project has at most ' +
            'KEYS_PER_PROJECT_MAX keys that are not revoked (409 `limit_reached`).',
          requestBody: {
            required: true,
            content: jsonContent(KeyIn, {
              kind: 'write',
              name: 'website',
              allowed_origins: ['https://acme.example'],
            }),
          },
          responses: {
            ...created(NewKeyOut, newKeyExample),
            ...common,
            ...ownerOnly,
            ...bodyDocs,
            ...errorDocs({ 409: 'The project has KEYS_PER_PROJECT_MAX keys; revoke one' }),
          },
        },
      },
    )
    .get(
      '/:id/keys',
      ({ params, request }) =>
        projects.listKeys(projectCaller(auth, request, params.id), params.id).map(presentKey),
      {
        params: t.Object(idParam),
        detail: {
          summary: 'Keys (prefixes only)',
          responses: { ...ok(t.Array(KeyOut), keysExample), ...commonRead },
        },
      },
    )
    .delete(
      '/:id/keys/:key_id',
      ({ params, request }) => {
        projects.revokeKey(projectCaller(auth, request, params.id), params.id, params.key_id);
        return noContent();
      },
      {
        params: t.Object({ ...idParam, key_id: t.String({ maxLength: 64 }) }),
        detail: {
          summary: 'Revoke a key; it stops working at once',
          responses: { 204: { description: 'Revoked' }, ...common, ...ownerOnly },
        },
      },
    );
}

function aliasRoutes(auth: Auth) {
  const { projects } = auth;
  return new Elysia()
    .post(
      '/:id/aliases',
      async ({ params, request, set }) => {
        const { principal, body } = await callerAndBody(auth, request, params.id);
        const alias = await projects.addAlias(principal, params.id, body);
        set.status = 201;
        return presentAlias(alias);
      },
      {
        params: t.Object(idParam),
        parse: 'none',
        detail: {
          summary: 'Register a site alias (tenant_id, site_id, Umami website, Plausible domain)',
          description:
            'Events naming the alias are written to this project; browser beacons that carry ' +
            'only a registered alias (no key) are accepted for it. A project has at most ' +
            'ALIASES_PER_PROJECT_MAX aliases (409 `limit_reached`). A user adds aliases at ' +
            'the rate of project creations (PROJECT_CREATE_BURST, PROJECT_CREATE_PER_HOUR; ' +
            'admins exempt), 429 beyond.',
          requestBody: {
            required: true,
            content: jsonContent(AliasIn, { alias: 'acme-site', kind: 'site_id' }),
          },
          responses: {
            ...created(AliasOut, aliasExample),
            ...common,
            ...ownerOnly,
            ...bodyDocs,
            ...errorDocs({
              409:
                'Taken, a tenant that holds events (admins only), or the project has ' +
                'ALIASES_PER_PROJECT_MAX aliases',
              429: 'Too many aliases added by this user; see Retry-After',
            }),
          },
        },
      },
    )
    .get(
      '/:id/aliases',
      ({ params, request }) =>
        projects.listAliases(projectCaller(auth, request, params.id), params.id).map(presentAlias),
      {
        params: t.Object(idParam),
        detail: {
          summary: 'Aliases',
          responses: { ...ok(t.Array(AliasOut), [aliasExample]), ...commonRead },
        },
      },
    )
    .delete(
      '/:id/aliases/:alias',
      ({ params, request }) => {
        projects.removeAlias(projectCaller(auth, request, params.id), params.id, params.alias);
        return noContent();
      },
      {
        params: t.Object({
          ...idParam,
          alias: t.String({ maxLength: eventLimits.tenantCharsMax }),
        }),
        detail: {
          summary: 'Remove an alias',
          responses: { 204: { description: 'Removed' }, ...common, ...ownerOnly },
        },
      },
    );
}
