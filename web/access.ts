// The dashboard's credential and project, kept in sessionStorage for this tab only (a reload
// keeps them), and whether the credential is a password sign-in's access token.

const TOKEN_KEY = 'tally.token';
const PROJECT_KEY = 'tally.project';
/** Set while the token is the access token of a password sign-in, not a pasted key or token. */
const SIGNED_IN_KEY = 'tally.signed-in';

export interface Access {
  /** A read key or an access token; null when the server is open. */
  token: string | null;
  /** The project (tenant) to read; null for the server's default. */
  project: string | null;
}

export function loadAccess(): Access {
  return {
    token: sessionStorage.getItem(TOKEN_KEY),
    project: sessionStorage.getItem(PROJECT_KEY),
  };
}

/** Keeps the tab's credential; `signedIn` when it is a password sign-in's access token. */
export function saveToken(token: string | null, signedIn = false): void {
  if (token === null) sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
  if (token !== null && signedIn) sessionStorage.setItem(SIGNED_IN_KEY, '1');
  else sessionStorage.removeItem(SIGNED_IN_KEY);
}

/** The tab's access token when a password sign-in gave it (a reload keeps it), else null. */
export function signedInToken(): string | null {
  return sessionStorage.getItem(SIGNED_IN_KEY) === null ? null : sessionStorage.getItem(TOKEN_KEY);
}

export function saveProject(project: string | null): void {
  if (project === null || project === '') sessionStorage.removeItem(PROJECT_KEY);
  else sessionStorage.setItem(PROJECT_KEY, project);
}
