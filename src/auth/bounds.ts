// The named bounds on what one person can make: projects a user owns, and each project's active
// keys, aliases, members and pending invitations. Every per-project share (write and read rates,
// SQL processes, live sockets, concurrent reads) is multiplied by the projects one person holds,
// and each row lives in SQLite for good, so none of them is unlimited. The stores check a bound in
// the same transaction as the insert, so two concurrent creations cannot both pass it.

import { AppError } from '../core/index.ts';

export interface ProjectBounds {
  /** Projects one user owns (created, or was made an owner of); admins included. */
  projectsPerUserMax: number;
  /** Active (not revoked) API keys of one project, write and read together. */
  keysPerProjectMax: number;
  /** Site aliases of one project. */
  aliasesPerProjectMax: number;
  /** Members of one project, owners and viewers together. */
  membersPerProjectMax: number;
  /** Pending (not expired) invitations of one project. */
  invitationsPerProjectMax: number;
}

/** The setting an operator raises for each bound: the error names it. */
export const BOUND_SETTINGS: Record<keyof ProjectBounds, string> = {
  projectsPerUserMax: 'PROJECTS_PER_USER_MAX',
  keysPerProjectMax: 'KEYS_PER_PROJECT_MAX',
  aliasesPerProjectMax: 'ALIASES_PER_PROJECT_MAX',
  membersPerProjectMax: 'MEMBERS_PER_PROJECT_MAX',
  invitationsPerProjectMax: 'INVITATIONS_PER_PROJECT_MAX',
};

const WHAT: Record<keyof ProjectBounds, (max: number) => string> = {
  projectsPerUserMax: (max) => `a user may own at most ${max} projects`,
  keysPerProjectMax: (max) => `a project may have at most ${max} active API keys`,
  aliasesPerProjectMax: (max) => `a project may have at most ${max} aliases`,
  membersPerProjectMax: (max) => `a project may have at most ${max} members`,
  invitationsPerProjectMax: (max) => `a project may have at most ${max} pending invitations`,
};

/** 409 `limit_reached` naming the bound, its value and its setting; `then`: what frees room. */
export function boundReached(bound: keyof ProjectBounds, max: number, then: string): AppError {
  return new AppError('limit_reached', `${WHAT[bound](max)} (${BOUND_SETTINGS[bound]}); ${then}`);
}
