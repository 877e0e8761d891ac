// DELETE /api/v1/projects/{id}: deletes a project and every event of its tenant. Auth decides
// who may (an owner, or an admin) and owns the project's rows; the engine stops the tenant's
// ingest, waits for the events in flight, and deletes its events with a tombstone written in
// the same SQLite transaction as the project's rows; the live hub then closes the tenant's
// sockets (4410). Answered 204 once no read can see any of its events.

import { Elysia, t } from 'elysia';
import type { Auth } from '../../auth/index.ts';
import { eventLimits, type Logger } from '../../core/index.ts';
import type { Engine } from '../../engine/index.ts';
import type { LiveHub } from '../../live/index.ts';
import { ErrorOut } from '../model.ts';
import { errorDocs, jsonAnswer, longParamDocs } from '../openapi-docs.ts';
import { projectCaller } from './project-common.ts';

export interface ProjectDeleteDeps {
  auth: Auth;
  engine: Pick<Engine, 'deletions'>;
  live?: Pick<LiveHub, 'closeTenant'>;
  log: Logger;
}

/** Deletes project `id` for the caller of `request`; resolves once it is gone. */
async function deleteProject(deps: ProjectDeleteDeps, request: Request, id: string): Promise<void> {
  const { auth, engine, live, log } = deps;
  const principal = projectCaller(auth, request, id);
  // Checked first, so that no one else holds up the tenant's ingest while it drains.
  auth.projects.requireDeletable(principal, id);
  const erased = await engine.deletions.delete(id, {
    // The caller again, as the deletion is decided after the tenant's ingest drained: one
    // signed out, deleted, demoted or removed meanwhile deletes nothing.
    decide: (tombstone) => auth.projects.delete(auth.authenticate(request), id, tombstone),
    onErased: () => live?.closeTenant(id),
  });
  log.info('project deleted', {
    project: id,
    by: principal.user.id,
    segments: erased.segments,
    unflushed_events: erased.hotEvents,
    through_seq: erased.throughSeq,
  });
  if (erased.filesPending !== null) {
    // The events are unreadable all the same; the files go at the next retire or start, but a
    // copy of damaged log bytes whose damage holds the project's name waits for the operator
    // (the message says what to do).
    log.warn('files of a deleted project could not be removed yet', {
      project: id,
      error: erased.filesPending,
    });
  }
}

export function projectDeleteRoute(deps: ProjectDeleteDeps) {
  return new Elysia().delete(
    '/:id',
    async ({ params, request }) => {
      await deleteProject(deps, request, params.id);
      return new Response(null, { status: 204 });
    },
    {
      params: t.Object({ id: t.String({ maxLength: eventLimits.tenantCharsMax }) }),
      detail: {
        summary: 'Delete a project and every event of it (owners, or an admin)',
        description:
          'Deletes the project, its members, API keys (they stop working at once) and ' +
          'aliases (free to be registered again), and every event of its tenant: stored, ' +
          'unflushed and in flight (ingest acknowledged before the answer is deleted with ' +
          'it; ingest for the tenant while the deletion runs is refused with 503). From the ' +
          'answer on, no read shows any of its events, its live sockets are closed (4410), ' +
          'and its owners may own another project in its place. Its segment files are ' +
          'removed once no running read still holds them. The id may be used again: a new ' +
          'project with it starts empty, and event_ids sent before count as new.',
        responses: {
          204: { description: 'Deleted, with every event of the project' },
          ...errorDocs({ 401: 'Not signed in' }),
          403: jsonAnswer('A viewer: only owners (or an admin) may delete a project', ErrorOut, {
            detail: 'only an owner of acme-web may do this',
            code: 'forbidden',
          }),
          404: jsonAnswer('No such project (or not a member)', ErrorOut, {
            detail: 'no project acme-web',
            code: 'not_found',
          }),
          ...longParamDocs('id', eventLimits.tenantCharsMax),
        },
      },
    },
  );
}
