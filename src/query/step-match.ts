// What an event must be to match a step of a funnel or of a cohort read, as SQL over the event
// alias `e`: a step's name (a page view name matching every page view), its exact path, and
// its property conditions (compared as the read filters compare: filters.ts).

import { propertyEquals } from './filters.ts';
import { PAGE_VIEW_NAMES } from './queries/get-stats.ts';
import type { SqlParams } from './sql-params.ts';
import type { FunnelStep } from './step-syntax.ts';

/**
 * `e`'s condition of matching `step`: a page view name matches every page view, a step of a
 * path alone every page view of that path; each property condition ANDed to those. `views`
 * binds the page view names once, on use.
 */
export function stepCondition(step: FunnelStep, params: SqlParams, views: () => string): string {
  const conditions: string[] = [];
  if (step.name === undefined || PAGE_VIEW_NAMES.includes(step.name)) {
    conditions.push(`list_contains(${views()}, e.name)`);
  } else {
    conditions.push(`e.name = ${params.add(step.name)}`);
  }
  if (step.path !== undefined) conditions.push(`e.path = ${params.add(step.path)}`);
  for (const [key, value] of Object.entries(step.properties ?? {})) {
    conditions.push(propertyEquals(key, value, params));
  }
  return conditions.join(' AND ');
}
