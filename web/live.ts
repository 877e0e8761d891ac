// The dashboard's live WebSocket: connects to /api/v1/live with the token as a subprotocol
// (`tally.live, bearer.<token>`), subscribes, hands snapshots and heartbeats to the page, and
// reconnects with backoff. An error message of the server is shown as such until the next
// snapshot or the close. A refused handshake, or credentials that lapsed (1008: an access
// token expired), is reported so the page can check them (refresh its token, or ask for a
// key); the reconnects go on at their pace, each with the access the page has then. A socket
// closed because its project was deleted (4410) is not reconnected: there is nothing to show.
// A socket that hears nothing, not even a heartbeat, for LIVE_SILENCE_MAX_MS is dropped and
// reopened: its connection died without a close. So is one whose handshake got no answer in
// that time (a server or proxy that holds it): a browser gives one up only after minutes.
// Heartbeats before a socket's first snapshot (its counters being rebuilt) say it waits.

import type { LiveServerMessageBody } from '../src/live/index.ts';
import type { Access } from './api.ts';

export type LiveSnapshot = Extract<LiveServerMessageBody, { type: 'snapshot' }>;

/**
 * `error`: the server sent an error message (`{"type":"error","code","detail"}`, e.g. no room
 * for the tenant's counters): the counters are not live until the next snapshot or the close.
 */
export type LiveState = 'connecting' | 'live' | 'error' | 'offline';

export interface LiveHandlers {
  onSnapshot(snapshot: LiveSnapshot): void;
  onHeartbeat(atMs: number): void;
  onState(state: LiveState, detail: string): void;
  /**
   * The socket closed before it opened or with 1008: its credentials may have lapsed, or the
   * server refused it for another reason (a browser cannot tell which: 401, 403 and 429 all
   * look alike). Called at most once per reconnect, so at the backoff's pace.
   */
  onRefused(): void;
  /** The project was deleted (4410): the connection stops; `detail` is the server's reason. */
  onGone(detail: string): void;
}

/** The server closes a socket whose credentials lapsed with this code. */
const CLOSE_POLICY_VIOLATION = 1008;
/** The server closes the sockets of a deleted project with this code (4000 + HTTP 410 Gone). */
const CLOSE_PROJECT_DELETED = 4410;
/** The code a socket given up for its silence is reported with (a private-use code). */
const CLOSE_SILENT = 4000;
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 15_000;
/**
 * Longest silence of a subscribed socket: the server sends a snapshot on every change and a
 * heartbeat after 15 s without one, so three heartbeats missed mean a connection that died
 * without a close (a laptop that slept, a NAT or proxy that dropped it). The page then drops
 * it and reconnects instead of showing the last counters as live.
 */
export const LIVE_SILENCE_MAX_MS = 45_000;

export interface LiveConnection {
  close(): void;
}

/** `accessOf` is read at every (re)connect: a token the page refreshed is used from then on. */
export function connectLive(accessOf: () => Access, handlers: LiveHandlers): LiveConnection {
  let socket: WebSocket | null = null;
  let retryMs = RETRY_FIRST_MS;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let stopped = false;

  const open = () => {
    handlers.onState('connecting', 'connecting…');
    const ws = openSocket(accessOf());
    socket = ws;
    let opened = false;
    let ended = false;
    /** Whether this socket got a snapshot: heartbeats before one say nothing of the counters. */
    let current = false;
    let silence: ReturnType<typeof setTimeout> | null = null;
    const listen = () => {
      if (silence !== null) clearTimeout(silence);
      silence = setTimeout(() => {
        // A close handshake over a dead link may never end: this socket is given up now.
        ws.close();
        const why = opened ? 'nothing heard for' : 'no answer to the handshake in';
        closed(CLOSE_SILENT, `${why} ${LIVE_SILENCE_MAX_MS / 1000} s`);
      }, LIVE_SILENCE_MAX_MS);
    };
    const closed = (code: number, reason: string) => {
      if (silence !== null) clearTimeout(silence);
      if (stopped || ended) return;
      ended = true;
      const why = reason === '' ? `closed (${code})` : reason;
      if (code === CLOSE_PROJECT_DELETED) {
        stopped = true;
        handlers.onGone(why);
        return;
      }
      handlers.onState('offline', `${why}; retrying in ${Math.round(retryMs / 1000)} s`);
      if (!opened || code === CLOSE_POLICY_VIOLATION) handlers.onRefused();
      timer = setTimeout(open, retryMs);
      retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
    };
    // From the handshake on: one the server never answers is given up too (Chromium waits 240 s).
    listen();
    ws.addEventListener('open', () => {
      opened = true;
      ws.send(JSON.stringify({ type: 'subscribe' }));
      listen();
    });
    ws.addEventListener('message', (event) => {
      if (ended) return;
      listen();
      const message = JSON.parse(String(event.data)) as LiveServerMessageBody;
      if (message.type === 'snapshot') {
        current = true;
        retryMs = RETRY_FIRST_MS;
        handlers.onState('live', 'live');
        handlers.onSnapshot(message);
      } else if (message.type === 'heartbeat' && current) {
        handlers.onHeartbeat(message.at);
      } else if (message.type === 'heartbeat') {
        // The subscribe waits for the counters to be rebuilt (a restart): those on the page are
        // an earlier socket's, if any, and no heartbeat says they did not change since.
        handlers.onState('connecting', 'waiting for the counters to be loaded…');
      } else {
        // Not live: what is shown is the last snapshot, if any, until the next one comes.
        handlers.onState('error', `${message.detail} (${message.code})`);
      }
    });
    ws.addEventListener('close', (event) => closed(event.code, event.reason));
  };

  open();
  return {
    close() {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
      socket?.close(1000, 'page closed');
    },
  };
}

function openSocket(access: Access): WebSocket {
  const url = new URL('/api/v1/live', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  if (access.project !== null) url.searchParams.set('tenant_id', access.project);
  if (access.token === null) return new WebSocket(url, ['tally.live']);
  try {
    // In a subprotocol the token stays out of URLs and access logs.
    return new WebSocket(url, ['tally.live', `bearer.${access.token}`]);
  } catch {
    // A token a subprotocol cannot carry (a space or a `/` in it) is none the server issues:
    // the socket opens without it, refused as the reads refuse it, never with it in the URL
    // (`?token=`), where proxies and the browser's history keep it.
    return new WebSocket(url, ['tally.live']);
  }
}
