// The sites of one Plausible beacon that Tally takes. Plausible writes an event for each domain
// of a comma list `d` that it knows and lets in, and drops the others (GateKeeper: `:not_found`,
// and `:throttle` for a site over its ingest rate), answering 202 with `x-plausible-dropped`
// counting them; a rollup site not registered, or over its rate, must not cost the page view of
// the site that is fine. A beacon none of whose sites is taken is refused as one site is
// (Tally's 403 or 429 with Retry-After, where Plausible answers 202 for nothing stored).
// A tenant gets one event however many names of `d` mean it (`a,www.a`, two aliases of one
// project): each of Plausible's sites counts one page view once.

import {
  AppError,
  assert,
  type BaseEvent,
  type EventInput,
  eventLimits,
  TENANT_PATTERN,
} from '../../core/index.ts';
import type { AppDeps } from '../context.ts';
import type { PrepareContext } from '../prepare.ts';
import type { WaitRecheck } from './ingest.ts';

/** The header Plausible counts the sites (events) it left out of a beacon in, if any. */
export function droppedHeader(dropped: readonly string[]): Record<string, string> {
  return dropped.length === 0 ? {} : { 'x-plausible-dropped': `${dropped.length}` };
}

const TENANT_RE = new RegExp(TENANT_PATTERN);

export interface TakenSites {
  inputs: EventInput[];
  /** The names of `d` each of `inputs` is written for (its own first): one tenant, one event. */
  names: string[][];
  /** The sites left out, each refused by the resolver's 403 or its rate limit's 429. */
  dropped: string[];
}

/**
 * `inputs` (one per site of `d`) without those of the sites the request may not write to: an
 * alias not registered (keyless), or not of the write key's project; or that it may not write
 * to now: a keyless alias whose project's beacons are over their write rate (a write key's rate
 * is its one project's, spent before any site is read). Any other refusal (401) refuses the
 * beacon, as does a refusal of every site: a rate limit's 429 (its Retry-After says when the
 * beacon would be taken) before the first 403. A name no tenant can have (open mode, where `d`
 * is the tenant: `https://b.example`) is left out as Plausible leaves out a domain it has no
 * site of; the beacon's 400 names it only when no site is taken.
 */
export function takenSites(
  deps: AppDeps,
  inputs: readonly EventInput[],
  ctx: PrepareContext,
): TakenSites {
  const taken: TakenSites = { inputs: [], names: [], dropped: [] };
  const byTenant = new Map<string, string[]>();
  const unnamed: EventInput[] = [];
  let forbidden: AppError | undefined;
  let limited: AppError | undefined;
  for (const input of inputs) {
    const name = input.tenant_id ?? '';
    try {
      const tenant = ctx.tenantOf(input.tenant_id);
      if (name.length > eventLimits.tenantCharsMax || !TENANT_RE.test(name)) {
        unnamed.push(input);
        continue;
      }
      const names = byTenant.get(tenant);
      if (names !== undefined) {
        names.push(name);
        continue;
      }
      byTenant.set(tenant, [name]);
      taken.inputs.push(input);
      taken.names.push(byTenant.get(tenant) as string[]);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      if (error.code === 'rate_limited') limited ??= error;
      else if (error.status === 403) forbidden ??= error;
      else throw error;
      taken.dropped.push(input.tenant_id ?? '');
    }
  }
  const refusal = limited ?? forbidden;
  if (taken.inputs.length === 0 && refusal !== undefined) throw refusal;
  // None taken: prepareEvents refuses the names no tenant can have (400 naming `domain`).
  if (taken.inputs.length === 0) {
    return { inputs: unnamed, names: unnamed.map((input) => [input.tenant_id ?? '']), dropped: [] };
  }
  taken.dropped.push(...unnamed.map((input) => input.tenant_id ?? ''));
  if (taken.dropped.length > 0) {
    deps.log.warn('plausible sites left out', { api: 'plausible', dropped: taken.dropped });
  }
  return taken;
}

/**
 * What a beacon waiting for room checks again before each new try (ingestWaiting): a site of
 * `taken` whose alias was removed, or whose tenant was deleted, meanwhile is left out of
 * `events` (one per site of `taken.inputs`, in their order) and counted in `taken.dropped`, as
 * a site it may not write to is left out before the wait (an event written for two names of
 * `d` only once neither writes to its tenant, and counted for both); once none is left, its
 * refusal (403, or the 503 of a tenant being deleted) is the beacon's, as one site's is. A
 * write key revoked meanwhile still refuses the whole beacon (401).
 */
export function recheckedSites(
  deps: AppDeps,
  ctx: PrepareContext,
  events: BaseEvent[],
  taken: TakenSites,
): WaitRecheck {
  const sites = taken.names.map((names) => [...names]);
  assert(sites.length === events.length, 'a Plausible beacon has one event per site taken');
  const leaveOut = (refusalOf: (i: number) => AppError | undefined) => {
    const left: string[] = [];
    let refusal: AppError | undefined;
    for (let i = events.length - 1; i >= 0; i--) {
      const refused = refusalOf(i);
      if (refused === undefined) continue;
      refusal = refused; // the first site's, once the loop is done
      left.unshift(...(sites[i] ?? []));
      events.splice(i, 1);
      sites.splice(i, 1);
    }
    if (refusal === undefined) return;
    if (events.length === 0) throw refusal;
    taken.dropped.push(...left);
    deps.log.warn('plausible sites left out while waiting', { api: 'plausible', left });
  };
  return {
    recheckTenancy: () => {
      const refused = ctx.refusedClaims(new Set(sites.flat()));
      if (refused.size === 0) return;
      // An event is left out once every name it was written for is refused.
      leaveOut((i) => {
        const names = sites[i] ?? [];
        return names.every((name) => refused.has(name)) ? refused.get(names[0]) : undefined;
      });
    },
    refuseTenant: (tenant, refusal) =>
      leaveOut((i) => (events[i]?.tenant === tenant ? refusal : undefined)),
  };
}

/**
 * The sites of `d` as Plausible reads them: a comma list, each trimmed and without a leading
 * `www.`; without `d` (absent, not empty), the host of the page URL.
 */
export function domainsOf(d: unknown, url: string | undefined): string[] {
  const host = url !== undefined && URL.canParse(url) ? new URL(url).hostname : '';
  const sites = d === undefined || d === null ? host : typeof d === 'string' ? d : '';
  return sites
    .split(',')
    .map((domain) => domain.trim().replace(/^www\./i, ''))
    .filter((domain) => domain !== '');
}
