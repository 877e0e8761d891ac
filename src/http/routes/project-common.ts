// What the project routes (projects.ts) and the invitation routes (invitations.ts) share: the
// caller-then-body read, the project id parameter and the OpenAPI pieces of their answers.

import { t } from 'elysia';
import { type Auth, ROLES } from '../../auth/index.ts';
import { eventLimits, retentionLimits } from '../../core/index.ts';
import { accountBodyDocs, readAccountBody } from '../account-body.ts';
import { noteTenant } from '../context.ts';
import { errorDocs, jsonContent, longParamDocs } from '../openapi-docs.ts';

export const stamp = t.String({ format: 'date-time' });
/** A project's retention_days: null follows the server's RETENTION_DAYS; 0 keeps all. */
export const RetentionDays = t.Nullable(
  t.Integer({
    minimum: 0,
    maximum: retentionLimits.retentionDaysMax,
    description:
      'Days of events kept: whole UTC days older than this are deleted (hourly). 0 keeps ' +
      'events forever; null follows the server’s RETENTION_DAYS.',
  }),
);
export const ProjectOut = t.Object({
  id: t.String({ description: 'The tenant string of the project’s events.' }),
  tenant: t.String(),
  name: t.String(),
  role: t.UnionEnum(ROLES),
  created_at: stamp,
  retention_days: RetentionDays,
});
export const idParam = { id: t.String({ maxLength: eventLimits.tenantCharsMax }) };
export const common = errorDocs({
  401: 'Not signed in',
  404: 'No such project (or not a member)',
});
/** The reads of one project: `common`, and the 422 of an id over its limit. */
export const commonRead = { ...common, ...longParamDocs('id', eventLimits.tenantCharsMax) };
export const ownerOnly = errorDocs({ 403: 'Only owners may do this', 422: 'Invalid value' });
type Schema = Parameters<typeof jsonContent>[0];
export const created = (schema: Schema, example: unknown) => ({
  201: { description: 'Created', content: jsonContent(schema, example) },
});
export const ok = (schema: Schema, example: unknown) => ({
  200: { description: 'OK', content: jsonContent(schema, example) },
});
export const noContent = () => new Response(null, { status: 204 });
/** The refusals of a body that cannot be read, and of one that breaks its rules. */
export const bodyDocs = { ...accountBodyDocs(), ...errorDocs({ 422: 'Invalid value' }) };

/**
 * The caller of a route of project `id`. Once they may see it (a member, or an admin of a
 * project that exists) the request log names it as the request's tenant; a refusal as a
 * stranger (401, 404) names none, the id then being only what the caller typed.
 */
export function projectCaller(auth: Auth, request: Request, id: string) {
  const principal = auth.authenticate(request);
  const { projects } = auth.stores;
  const known = principal.user.isAdmin
    ? projects.get(id) !== null
    : projects.roleOf(id, principal.user.id) !== null;
  if (known) noteTenant(request, id);
  return principal;
}

/**
 * The caller, then their body: the body of a request without credentials is never read. The
 * caller is checked again once the body is in: a session that ended while a slow body arrived
 * (a logout, a new password) must not still mint a key or an invitation. With `projectId`, the
 * request is noted as that project's (projectCaller).
 */
export async function callerAndBody(auth: Auth, request: Request, projectId?: string) {
  if (projectId === undefined) auth.authenticate(request);
  else projectCaller(auth, request, projectId);
  const body = await readAccountBody(request);
  return { principal: auth.authenticate(request), body };
}
