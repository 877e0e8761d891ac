// PATCH /api/v1/projects/{id}: an owner renames a project or sets how many days of its events
// are kept (`retention_days`; null follows the server's RETENTION_DAYS). The retention pass
// (engine/retention.ts) reads the new value on its next run.

import { Elysia, t } from 'elysia';
import { type Auth, presentProject } from '../../auth/index.ts';
import { jsonContent } from '../openapi-docs.ts';
import { projectExample } from '../openapi-examples.ts';
import {
  bodyDocs,
  callerAndBody,
  common,
  idParam,
  ok,
  ownerOnly,
  ProjectOut,
  RetentionDays,
} from './project-common.ts';

const ProjectChangeIn = t.Object({
  name: t.Optional(t.String({ minLength: 1, maxLength: 120 })),
  retention_days: t.Optional(RetentionDays),
});

export function projectUpdateRoute(auth: Auth) {
  return new Elysia().patch(
    '/:id',
    async ({ params, request }) => {
      const { principal, body } = await callerAndBody(auth, request, params.id);
      return presentProject(auth.projects.update(principal, params.id, body));
    },
    {
      params: t.Object(idParam),
      parse: 'none',
      detail: {
        summary: 'Rename a project or change its retention (owners)',
        description:
          'Fields left out stay as they are. `retention_days`: whole UTC days older than ' +
          'this many days before today are deleted by the next retention pass (hourly, and at ' +
          'start); 0 keeps every event; null follows the server’s RETENTION_DAYS.',
        requestBody: {
          required: true,
          content: jsonContent(ProjectChangeIn, { retention_days: 90 }),
        },
        responses: {
          ...ok(ProjectOut, { ...projectExample, retention_days: 90 }),
          ...common,
          ...ownerOnly,
          ...bodyDocs,
        },
      },
    },
  );
}
