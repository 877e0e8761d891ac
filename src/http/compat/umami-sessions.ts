// Umami's session and visit ids, and the `cache` token its answers carry and its tracker sends
// back in x-umami-cache: a session per (website, client address, agent, month) or per distinct
// id, a visit per session and hour, unless the token names a visit of that session begun at
// most 30 minutes before, as Umami's resolveCollectionSession derives them.

import { createHmac } from 'node:crypto';
import { constantTimeEqual } from '../../auth/index.ts';
import { HOUR_MS } from '../../core/index.ts';
import { objectOf } from './ingest.ts';

export interface UmamiIds {
  websiteId: string;
  sessionId: string;
  visitId: string;
}

/**
 * How long a visit the tracker carries in its `x-umami-cache` token lasts: 30 minutes from its
 * start (the token's `iat`), as Umami's resolveCollectionSession keeps it; then the hour's visit.
 */
const CACHED_VISIT_SECONDS = 1800;
/** The bytes of a token's HMAC it carries (base64url): 128 bits. */
const TOKEN_SIGNATURE_BYTES = 16;

/** The claims of the `cache` token Umami answers with and its tracker sends back. */
interface CacheClaims extends UmamiIds {
  /** When the visit began (epoch seconds), as Umami's token names it. */
  iat: number;
}

/** The name of the monthly secrets (engine's monthSecret) Umami's ids are keyed by. */
const SECRET_NAME = 'umami-sessions';

/**
 * Session and visit ids: UUID-shaped HMACs under a secret of the session's month, so they
 * cannot be reversed to an address; kept across restarts as Umami keeps its secret, so a
 * restart starts no new sessions (a month's secret is forgotten once the month after it is
 * over). The `cache` token is signed with the secret of the month it is signed in, as Umami
 * signs its own: a visit id a client names is taken only from a token Tally gave.
 */
export class UmamiSessions {
  /** `secretOf(atMs)`: the secret of the UTC month holding `atMs`. */
  constructor(private readonly secretOf: (atMs: number) => string) {}

  /** Sessions keyed by the engine's monthly secrets. */
  static of(engine: { monthSecret(name: string, atMs: number): string }): UmamiSessions {
    return new UmamiSessions((atMs) => engine.monthSecret(SECRET_NAME, atMs));
  }

  /**
   * The ids of an item, as Umami's resolveCollectionSession derives them: the session of
   * (website, who, month); the visit of the session and hour, unless the client's `cache` token
   * (x-umami-cache) names a visit of this website and session begun at most 30 minutes before
   * `nowMs`, or the item names its own time (`historical`), which keeps it whatever its age.
   */
  ids(
    websiteId: string,
    who: string,
    atMs: number,
    visit: { cache: string | null; nowMs: number; historical: boolean },
  ): CacheClaims {
    const month = new Date(atMs).toISOString().slice(0, 7);
    const sessionId = this.uuid(atMs, `${websiteId}\0${who}\0${month}`);
    const now = Math.floor(visit.nowMs / 1000);
    const cached = this.claimsOf(visit.cache, visit.nowMs);
    const carried =
      cached !== undefined &&
      cached.websiteId === websiteId &&
      cached.sessionId === sessionId &&
      (visit.historical || now - cached.iat <= CACHED_VISIT_SECONDS);
    if (carried) return { websiteId, sessionId, visitId: cached.visitId, iat: cached.iat };
    const visitId = this.uuid(atMs, `${sessionId}\0${Math.floor(atMs / HOUR_MS)}`);
    return { websiteId, sessionId, visitId, iat: now };
  }

  /**
   * The `cache` token of an answer at `nowMs`: its claims and their HMAC under the secret of
   * the month of `nowMs`, each base64url.
   */
  token(claims: CacheClaims, nowMs: number): string {
    const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `${body}.${this.signature(nowMs, body)}`;
  }

  /**
   * The claims of a token Tally signed (in the month of `nowMs`, or in the one before less
   * than a cached visit ago); none for anything else.
   */
  private claimsOf(sent: string | null, nowMs: number): CacheClaims | undefined {
    const [body, signature, ...rest] = cacheTokenOf(sent).split('.');
    if (body === undefined || signature === undefined || rest.length > 0) return undefined;
    const signedAt = [nowMs, nowMs - CACHED_VISIT_SECONDS * 1000];
    const signs = (atMs: number) =>
      constantTimeEqual(Buffer.from(signature), Buffer.from(this.signature(atMs, body)));
    if (!signedAt.some(signs)) return undefined;
    try {
      const claims = objectOf(JSON.parse(Buffer.from(body, 'base64url').toString('utf8')));
      const { websiteId, sessionId, visitId, iat } = claims ?? {};
      const texts = [websiteId, sessionId, visitId].every((id) => typeof id === 'string');
      return texts && Number.isInteger(iat) ? (claims as unknown as CacheClaims) : undefined;
    } catch {
      return undefined;
    }
  }

  private signature(atMs: number, body: string): string {
    const mac = createHmac('sha256', this.secretOf(atMs)).update(`cache\0${body}`).digest();
    return mac.subarray(0, TOKEN_SIGNATURE_BYTES).toString('base64url');
  }

  private uuid(atMs: number, text: string): string {
    const hex = createHmac('sha256', this.secretOf(atMs)).update(text).digest('hex');
    const variant = ((Number.parseInt(hex[16] as string, 16) & 0x3) | 0x8).toString(16);
    return [
      hex.slice(0, 8),
      hex.slice(8, 12),
      `5${hex.slice(13, 16)}`,
      `${variant}${hex.slice(17, 20)}`,
      hex.slice(20, 32),
    ].join('-');
  }
}

/**
 * The token a client sends back in x-umami-cache: as sent, or the `cache` of the answer's whole
 * text, which Umami 2's tracker sends (`cache = await res.text()`: Umami 2 answered the bare
 * token, Umami 3 and Tally answer JSON); '' for none.
 */
function cacheTokenOf(sent: string | null): string {
  const text = sent?.trim() ?? '';
  if (!text.startsWith('{')) return text;
  try {
    const cache = objectOf(JSON.parse(text))?.cache;
    return typeof cache === 'string' ? cache : '';
  } catch {
    return '';
  }
}
