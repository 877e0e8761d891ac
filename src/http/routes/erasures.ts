// Erasures of one person's events (GDPR right to erasure), PostHog's "delete person and their
// events" and Segment's user deletion: an owner (or an admin) names the person by user_id,
// anonymous_id or visitor_id; the answer (202) comes once no read shows their unflushed
// events, and the stored ones go in the background (engine/erasures.ts), which GET follows.
// Each acceptance pauses every tenant's flushes and takes the store's write lock, so a project
// asks for them at a limited rate (erasureLimits): one project's loop must not slow the others.

import { Elysia, t } from 'elysia';
import { type Auth, TokenBucketLimiter, takeOrRefuse } from '../../auth/index.ts';
import { AppError, ERASURE_FIELDS, erasureLimits, eventLimits } from '../../core/index.ts';
import type { Engine, Erasure } from '../../engine/index.ts';
import { readErasureBody } from '../erasure-body.ts';
import { errorDocs, jsonAnswer, jsonContent, longParamDocs } from '../openapi-docs.ts';
import {
  bodyDocs,
  callerAndBody,
  common,
  commonRead,
  idParam,
  ok,
  projectCaller,
  stamp,
} from './project-common.ts';

export interface ErasureRouteDeps {
  auth: Auth;
  engine: Pick<Engine, 'erasures'>;
}

const ErasureOut = t.Object({
  id: t.String(),
  project_id: t.String(),
  field: t.UnionEnum(ERASURE_FIELDS, { description: 'What names the person.' }),
  value: t.String(),
  status: t.UnionEnum(['pending', 'done', 'failed'] as const),
  reason: t.Nullable(
    t.String({
      description:
        'Why it failed (then POST it again); on a pending one, why the deletion of the log ' +
        "files holding the person's records has not held yet (retried after each flush).",
    }),
  ),
  events_erased: t.Integer({ description: 'Events removed so far, unflushed and stored.' }),
  unflushed_events_erased: t.Integer(),
  segments_rewritten: t.Integer({ description: 'Segment files rewritten (or dropped).' }),
  created_at: stamp,
  finished_at: t.Nullable(stamp),
});

const LISTED_MAX = erasureLimits.erasuresListedMax;
/** An erasure id is `er_` and 32 hex digits; a longer one is refused as any long parameter. */
const ERASURE_ID_CHARS_MAX = 64;

const iso = (ms: number) => new Date(ms).toISOString();

function presentErasure(e: Erasure): typeof ErasureOut.static {
  return {
    id: e.id,
    project_id: e.tenant,
    field: e.field,
    value: e.value,
    status: e.status,
    reason: e.reason,
    events_erased: e.hotEvents + e.segmentEvents,
    unflushed_events_erased: e.hotEvents,
    segments_rewritten: e.segmentsRewritten,
    created_at: iso(e.createdAt),
    finished_at: e.finishedAt === null ? null : iso(e.finishedAt),
  };
}

const example = {
  id: 'er_0193a1b2c3d4e5f6a7b8c9d0e1f2a3b4',
  project_id: 'acme-web',
  field: 'user_id',
  value: 'user-42',
  status: 'done',
  reason: null,
  events_erased: 1312,
  unflushed_events_erased: 12,
  segments_rewritten: 3,
  created_at: '2026-11-26T09:00:00.000Z',
  finished_at: '2026-11-26T09:00:02.000Z',
};

const ownersOrAdmins = errorDocs({ 403: 'A viewer: only owners (or an admin) may do this' });

/**
 * Whether an erasure request's error refused it: the re-checks as it is recorded (401/403/404,
 * 409 `limit_reached`), or a deletion of its project during the cut (404, its record deleted
 * with the project). A failure after the record is no AppError of a client's (the store's,
 * fatal).
 */
function refused(error: unknown): boolean {
  return error instanceof AppError && error.status < 500;
}

export function erasureRoutes(deps: ErasureRouteDeps) {
  const { auth, engine } = deps;
  // One bucket per project, taken once the caller may erase there and the body is valid: no
  // one else can spend a project's erasures, and a refused body costs none. It is taken before
  // the wait for a running flush (a loop of requests pauses no flush past the rate) and given
  // back when the re-check after that wait refuses the request, or when it fails (5xx) before
  // anything is recorded: either way it erased nothing.
  const perProject = new TokenBucketLimiter(
    {
      burst: erasureLimits.erasuresBurstMax,
      perSecond: 1000 / erasureLimits.erasureRefillMs,
    },
    auth.clock,
    auth.options.rateKeysMax,
    'forget', // a project's limit: other projects' debts must not stall its erasures
  );
  /** The caller, if they may erase in project `id` (an owner, or an admin). */
  const allowed = (request: Request, id: string) => {
    const principal = projectCaller(auth, request, id);
    auth.projects.requireDeletable(principal, id);
    return principal;
  };
  return new Elysia()
    .post(
      '/:id/erasures',
      async ({ params, request, set }) => {
        const { principal, body } = await callerAndBody(auth, request, params.id);
        auth.projects.requireDeletable(principal, params.id);
        const { field, value } = readErasureBody(body);
        // A project at its pending erasures is a 409 before the rate is spent or a flush
        // waited for (a loop of such requests pauses nothing).
        engine.erasures.requirePendingRoom(params.id);
        takeOrRefuse(perProject, params.id, `erasures asked for in project ${params.id}`);
        // Again as it is recorded, after the wait for a running flush: a caller demoted,
        // removed or signed out meanwhile erases nothing; nor does one whose project reached
        // its pending erasures meanwhile. Either gives its token back, having recorded nothing.
        let unrecorded = false;
        const hooks = {
          stillAllowed: () => allowed(request, params.id),
          unrecorded: () => {
            unrecorded = true;
          },
        };
        let erasure: Erasure;
        try {
          erasure = await engine.erasures.request(params.id, field, value, hooks);
        } catch (error) {
          if (unrecorded || refused(error)) perProject.giveBack(params.id);
          throw error;
        }
        set.status = 202;
        return presentErasure(erasure);
      },
      {
        params: t.Object(idParam),
        parse: 'none',
        detail: postDocs(),
      },
    )
    .get(
      '/:id/erasures',
      ({ params, request }) => {
        allowed(request, params.id);
        return engine.erasures.list(params.id).map(presentErasure);
      },
      {
        params: t.Object(idParam),
        detail: {
          summary: `The project's erasures, newest first (at most ${LISTED_MAX})`,
          responses: { ...ok(t.Array(ErasureOut), [example]), ...commonRead, ...ownersOrAdmins },
        },
      },
    )
    .get(
      '/:id/erasures/:erasure_id',
      ({ params, request }) => {
        allowed(request, params.id);
        return presentErasure(engine.erasures.get(params.id, params.erasure_id));
      },
      {
        params: t.Object({ ...idParam, erasure_id: t.String({ maxLength: ERASURE_ID_CHARS_MAX }) }),
        detail: {
          summary: 'One erasure: pending, done (with what it removed) or failed (with why)',
          responses: {
            ...ok(ErasureOut, example),
            ...commonRead,
            ...ownersOrAdmins,
            ...longParamDocs('erasure_id', ERASURE_ID_CHARS_MAX),
          },
        },
      },
    );
}

function postDocs() {
  const max = erasureLimits.erasuresPendingPerProjectMax;
  const burst = erasureLimits.erasuresBurstMax;
  const refillS = erasureLimits.erasureRefillMs / 1000;
  return {
    summary: "Erase one person's events (owners, or an admin)",
    description:
      'Give exactly one of `user_id`, `anonymous_id` or `visitor_id`. Every event of the ' +
      'project with that value, acknowledged before this request was accepted, is erased: ' +
      'unflushed ones before the 202, stored ones in the background (`status` goes from ' +
      '`pending` to `done`; follow it with GET). Once done, no read shows them. Events sent ' +
      `later with that id are stored as usual. At most ${max} erasures of a project are ` +
      `pending at once (409 \`limit_reached\`), and a project asks for at most ${burst} at ` +
      `once, then one every ${refillS} s (429, with Retry-After; admins too).`,
    requestBody: {
      required: true,
      content: jsonContent(
        t.Object({
          user_id: t.Optional(t.String({ maxLength: eventLimits.idCharsMax })),
          anonymous_id: t.Optional(t.String({ maxLength: eventLimits.idCharsMax })),
          visitor_id: t.Optional(t.String({ maxLength: eventLimits.idCharsMax })),
        }),
        { user_id: 'user-42' },
      ),
    },
    responses: {
      202: jsonAnswer('Accepted: pending', ErasureOut, {
        ...example,
        status: 'pending',
        events_erased: 12,
        segments_rewritten: 0,
        finished_at: null,
      }),
      ...common,
      ...ownersOrAdmins,
      ...bodyDocs,
      ...errorDocs({
        409: `The project has ${max} erasures pending; wait for one`,
        429: 'Too many erasures asked for in this project; see Retry-After',
      }),
    },
  };
}
