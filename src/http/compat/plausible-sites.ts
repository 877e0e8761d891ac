// The sites of one Plausible beacon that Tally takes. Plausible writes an event for each domain
// of a comma list `d` that it knows and lets in, and drops the others (GateKeeper: `:not_found`,
// and `:throttle` for a site over its ingest rate), answering 202 with `x-plausible-dropped`
// counting them; a rollup site not registered, or over its rate, must not cost the page view of
// the site that is fine. A beacon none of whose sites is taken is refused as one site is
// (Tally's 403 or 429 with Retry-After, where Plausible answers 202 for nothing stored).

import { AppError, type EventInput } from '../../core/index.ts';
import type { AppDeps } from '../context.ts';
import type { PrepareContext } from '../prepare.ts';

/** The header Plausible counts the sites (events) it left out of a beacon in, if any. */
export function droppedHeader(dropped: readonly string[]): Record<string, string> {
  return dropped.length === 0 ? {} : { 'x-plausible-dropped': `${dropped.length}` };
}

export interface TakenSites {
  inputs: EventInput[];
  /** The sites left out, each refused by the resolver's 403 or its rate limit's 429. */
  dropped: string[];
}

/**
 * `inputs` (one per site of `d`) without those of the sites the request may not write to: an
 * alias not registered (keyless), or not of the write key's project; or that it may not write
 * to now: a keyless alias whose project's beacons are over their write rate (a write key's rate
 * is its one project's, spent before any site is read). Any other refusal (401) refuses the
 * beacon, as does a refusal of every site: a rate limit's 429 (its Retry-After says when the
 * beacon would be taken) before the first 403.
 */
export function takenSites(
  deps: AppDeps,
  inputs: readonly EventInput[],
  ctx: PrepareContext,
): TakenSites {
  const taken: TakenSites = { inputs: [], dropped: [] };
  let forbidden: AppError | undefined;
  let limited: AppError | undefined;
  for (const input of inputs) {
    try {
      ctx.tenantOf(input.tenant_id);
      taken.inputs.push(input);
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
  if (taken.dropped.length > 0) {
    deps.log.warn('plausible sites left out', { api: 'plausible', dropped: taken.dropped });
  }
  return taken;
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
