// Where a request carries its credential: `Authorization: Bearer …` or `X-Tally-Key`. Never the
// URL, which ends up in proxy logs, browser history and Referer headers: only the live
// WebSocket route takes `?token=` (as its clients cannot set headers), turned into a header
// before it asks the resolver. What the credential is — a write key, a read key or a JWT — is
// decided by its shape.

export type CredentialKind = 'write_key' | 'read_key' | 'jwt';

export interface Credential {
  kind: CredentialKind;
  value: string;
}

/** The request headers a credential is read from (the live route's `?token=` becomes one). */
export const CREDENTIAL_HEADERS = ['authorization', 'x-tally-key'] as const;

/** The bearer token of the Authorization header, or null (other schemes are ignored). */
export function bearerOf(request: Request): string | null {
  const header = request.headers.get('authorization');
  if (header === null) return null;
  const match = /^bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}

function credentialOf(value: string): Credential {
  if (value.startsWith('wk_')) return { kind: 'write_key', value };
  if (value.startsWith('rk_')) return { kind: 'read_key', value };
  return { kind: 'jwt', value };
}

/** The credential of an ingest request: an SDK-specific key first, then the headers. */
export function ingestCredentialOf(request: Request, sdkKey: string | null | undefined) {
  const value = sdkKey || request.headers.get('x-tally-key') || bearerOf(request);
  return value ? credentialOf(value) : null;
}

/** The credential of a read request, from its headers. */
export function readCredentialOf(request: Request): Credential | null {
  const value = request.headers.get('x-tally-key') || bearerOf(request);
  return value ? credentialOf(value) : null;
}
