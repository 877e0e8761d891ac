// The custom props of a Plausible event as Plausible's ingestion keeps them: the props object
// (or its JSON text) without the props it drops, revenue, scroll depth, the interactive flag,
// and the page path of its system goals.

import { INTERACTIVE_KEY, SCROLL_DEPTH_KEY } from '../../core/index.ts';
import type { ClientNames } from '../prepare.ts';
import { objectOf } from './ingest.ts';

/**
 * Plausible's system goals whose events carry their page as the custom property `path`
 * (`SystemGoals.goals_with_path`): its ingestion adds the event's pathname there when the
 * request names no `path` prop, as the tracker's form-submission tracking sends none, so that
 * a goal's pages are its `event:props:path` breakdown.
 */
const GOALS_WITH_PATH: ReadonlySet<string> = new Set([
  '404',
  'WP Form Completions',
  'Form: Submission',
]);

/** The property revenue is kept as. */
export const REVENUE_KEY = '$revenue';

/** Adds `path` as the prop `path` of a system goal's event that names none (GOALS_WITH_PATH). */
export function addGoalPath(name: string, properties: Record<string, unknown>, path: string): void {
  if (GOALS_WITH_PATH.has(name) && !Object.hasOwn(properties, 'path')) properties.path = path;
}

/**
 * The props (`m`, `meta`, `p` or `props`, in the order Plausible reads them: an object or its
 * JSON text; anything else is no props, as Plausible's `decode_or_fallback` reads it; a prop
 * Plausible drops is left out: keptProp), plus revenue (`revenue` or `$`), scroll depth and the
 * interactive flag (`i` or `interactive`).
 */
export function propertiesOf(body: Record<string, unknown>): Record<string, unknown> {
  let props = body.m ?? body.meta ?? body.p ?? body.props;
  if (typeof props === 'string') {
    try {
      props = JSON.parse(props) as unknown;
    } catch {
      props = undefined;
    }
  }
  // Defined, not assigned: a "__proto__" prop stays a prop.
  const properties: Record<string, unknown> = Object.fromEntries(
    Object.entries(objectOf(props) ?? {}).filter(([key, value]) => keptProp(key, value)),
  );
  const revenue = revenueOf(body.revenue ?? body.$);
  if (revenue !== undefined) properties[REVENUE_KEY] = revenue;
  if (typeof body.sd === 'number') properties[SCROLL_DEPTH_KEY] = body.sd;
  if (body.i === false || body.interactive === false) properties[INTERACTIVE_KEY] = false;
  return properties;
}

/**
 * Where the properties of `body` came from (propertiesOf), so that an issue of the event rules
 * names the field Plausible's `errors` know (`props`, `revenue`, `sd`) and the key within it,
 * not the unified event's `properties`: `{"errors":{"props":["props.n must be a finite …"]}}`;
 * and the name as `event_name`, the key its issues are under.
 */
export function plausibleNames(body: Record<string, unknown>): ClientNames {
  const revenue = revenueOf(body.revenue ?? body.$) !== undefined;
  const depth = typeof body.sd === 'number';
  return {
    // The key of its `errors`, as the one of the name's own checks (plausible.ts's FIELD_NAMES).
    name: 'event_name',
    properties: ([key, ...within]) =>
      key === REVENUE_KEY && revenue
        ? ['revenue', ...within]
        : key === SCROLL_DEPTH_KEY && depth
          ? ['sd', ...within]
          : ['props', ...(key === undefined ? [] : [key]), ...within],
  };
}

/**
 * Revenue as Plausible reads it (`Revenue.put_revenue_source`): an object, or its JSON text,
 * with an `amount` and a `currency`; anything else (the tracker's `{}` on a tagged click) is
 * none.
 */
function revenueOf(value: unknown): Record<string, unknown> | undefined {
  let revenue = value;
  if (typeof revenue === 'string') {
    try {
      revenue = JSON.parse(revenue) as unknown;
    } catch {
      return undefined;
    }
  }
  const object = objectOf(revenue);
  if (object === undefined || !('amount' in object) || !('currency' in object)) return undefined;
  return { amount: object.amount, currency: object.currency };
}

/**
 * Whether Plausible keeps a prop (its `filter_bad_props`): not when its value is a list or an
 * object, nor when its key or value is blank (null, empty or spaces); so a blank prop reads as
 * none, as in Plausible, not as a value "".
 */
function keptProp(key: string, value: unknown): boolean {
  if (value === null || typeof value === 'object') return false;
  return key.trimStart() !== '' && String(value).trimStart() !== '';
}
