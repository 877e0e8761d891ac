// The dashboard's credential and project, kept in sessionStorage for this tab only.

const TOKEN_KEY = 'tally.token';
const PROJECT_KEY = 'tally.project';

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

export function saveToken(token: string | null): void {
  if (token === null) sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
}

export function saveProject(project: string | null): void {
  if (project === null || project === '') sessionStorage.removeItem(PROJECT_KEY);
  else sessionStorage.setItem(PROJECT_KEY, project);
}
