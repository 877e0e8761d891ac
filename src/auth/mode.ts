// Whether requests need credentials. `open` is the default only on a loopback address, so a
// laptop start just works; anything reachable from a network defaults to `required`, and
// `open` there is refused unless the operator says so explicitly (ALLOW_OPEN_ON_PUBLIC=1).

export type AuthMode = 'open' | 'required';

const AUTH_MODES: readonly AuthMode[] = ['open', 'required'];

export interface AuthModeInput {
  /** The address the server binds (HOST). */
  host: string;
  /** AUTH_MODE as given, or undefined when unset. */
  authMode: string | undefined;
  /** ALLOW_OPEN_ON_PUBLIC. */
  allowOpenOnPublic: boolean;
}

export type AuthModeDecision =
  | { kind: 'ok'; mode: AuthMode }
  | { kind: 'refused'; message: string };

/** Decides the auth mode from HOST, AUTH_MODE and ALLOW_OPEN_ON_PUBLIC; pure. */
export function resolveAuthMode(input: AuthModeInput): AuthModeDecision {
  const loopback = isLoopbackHost(input.host);
  const given = input.authMode?.trim().toLowerCase();
  if (given === undefined || given === '') {
    return { kind: 'ok', mode: loopback ? 'open' : 'required' };
  }
  if (given !== 'open' && given !== 'required') {
    const modes = AUTH_MODES.join(', ');
    return {
      kind: 'refused',
      message: `AUTH_MODE=${JSON.stringify(input.authMode)}: must be one of ${modes}`,
    };
  }
  if (given === 'open' && !loopback && !input.allowOpenOnPublic) {
    return {
      kind: 'refused',
      message:
        `AUTH_MODE=open on HOST=${input.host}, which is not a loopback address, would let ` +
        'anyone on the network read and write every tenant. Use AUTH_MODE=required, bind ' +
        'HOST=127.0.0.1, or set ALLOW_OPEN_ON_PUBLIC=1 if a proxy in front authenticates.',
    };
  }
  return { kind: 'ok', mode: given };
}

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1 and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (h.startsWith('::ffff:')) h = h.slice('::ffff:'.length);
  const octets = h.split('.');
  if (octets.length !== 4) return false;
  const valid = octets.every((o) => /^\d{1,3}$/.test(o) && Number(o) <= 255);
  return valid && octets[0] === '127';
}
