// What GET /api/v1/stats credits to visits (visit-rows.ts), in one statement over one visit
// grouping: the totals (visits, bounce rate, visit duration, views per visit) and the lists of
// Plausible's panels that count visits — entry pages, exit pages, sources, channels and the
// campaign tags of its Campaigns tabs (utm_medium … utm_term of the entry URL), a
// visit's source being that of its first event (referrer-source.ts), as Plausible credits a
// session, and its channel the one channels.ts derives from that source and event.

import { channelPartsSql, channelSourceFrom, channelSql } from '../channel-sql.ts';
import type { EventFilters } from '../filters.ts';
import { nullableNumberOf, numberOf, type Row } from '../read.ts';
import { referrerSourceOf, referrerSourceParts } from '../referrer-source.ts';
import type { SqlParams } from '../sql-params.ts';
import { visitPropertySql } from '../web-properties.ts';
import { visitRowsSql } from './visit-rows.ts';

export interface VisitTotals {
  visits: number;
  /** Percentage (0–100, whole) of visits that bounced; null without visits. */
  bounce_rate: number | null;
  /** Mean seconds from a visit's first to its last event (bounces 0), whole; null without. */
  visit_duration: number | null;
  /** Page views per visit, 2 decimals; null without visits. */
  views_per_visit: number | null;
}

/** A row of the entry or exit pages: the visits that began (ended) there and their visitors. */
export interface VisitPageRow {
  path: string;
  visitors: number;
  visits: number;
}

/** A row of the sources: the visits credited to it, their visitors and their events. */
export interface VisitSourceRow {
  source: string;
  /** The same as `source`: the key this list had when it counted events. */
  referrer_source: string;
  visitors: number;
  visits: number;
  events: number;
}

/** A row of the channels: the visits credited to it and their visitors. */
export interface VisitChannelRow {
  channel: string;
  visitors: number;
  visits: number;
}

/** The campaign tags of a visit's entry URL (web-properties.ts), as Plausible's Campaigns. */
const CAMPAIGN_TAGS = [
  'utm_medium',
  'utm_source',
  'utm_campaign',
  'utm_content',
  'utm_term',
] as const;
export type CampaignTag = (typeof CAMPAIGN_TAGS)[number];

/** The list of a campaign tag: `top_utm_mediums`, `top_utm_sources`, …. */
export type CampaignList = `top_${CampaignTag}s`;
const campaignListOf = (tag: CampaignTag): CampaignList => `top_${tag}s`;

/** A row of a campaign list: a tag's value and the visits entering with it, their visitors. */
export type VisitCampaignRow = { [tag in CampaignTag]?: string } & {
  visitors: number;
  visits: number;
};

export type VisitLists = {
  top_entry_pages: VisitPageRow[];
  top_exit_pages: VisitPageRow[];
  top_referrer_sources: VisitSourceRow[];
  top_channels: VisitChannelRow[];
} & Record<CampaignList, VisitCampaignRow[]>;

/**
 * The totals of VisitTotals over rows of visits (visit-rows.ts), as aggregates, for Tally's own
 * reads: a tie away from zero (DuckDB's round). Plausible's APIs round a tie to even, as its
 * ClickHouse does (web-metrics-select.ts).
 */
const VISIT_TOTALS_SQL = {
  bounce_rate: 'round(100 * avg(CAST(bounced AS INTEGER)))',
  visit_duration: 'round(avg(CASE WHEN bounced THEN 0 ELSE seconds END))',
  views_per_visit: 'round(avg(views), 2)',
} as const;

/** The lists of VisitLists but the campaign lists, each with the column of `credited` it groups. */
const LISTS = [
  { list: 'top_entry_pages', column: 'entry_page' },
  { list: 'top_exit_pages', column: 'exit_page' },
  { list: 'top_referrer_sources', column: 'source' },
  { list: 'top_channels', column: 'channel' },
] as const;
const TOTALS = 'totals';

/**
 * One row `list = 'totals'` with the VisitTotals, then the top `top` rows of each list of
 * VisitLists, ranked by visitors, then visits, then value. A visit without a page view (with a
 * path) has no entry or exit page, one without a campaign tag is in none of its list; one
 * whose first event names no source is Direct / None, and every visit has a channel (Direct
 * at least).
 */
export function visitStatsQuery(
  from: string,
  beacons: string,
  filters: EventFilters,
  params: SqlParams,
  pageViewNames: string[],
  top: number,
): string {
  const [first, ...rest] = LISTS;
  const which = (then: (list: string, column: string) => string) =>
    `CASE ${rest
      .map((w) => `WHEN grouping(${w.column}) = 0 THEN ${then(w.list, w.column)}`)
      .join(' ')} ELSE ${then(first.list, first.column)} END`;
  const sets = LISTS.map(({ column }) => `(${column}, visitor_id)`);
  return `${visitRowsSql(from, beacons, filters, params, pageViewNames)}, parts AS (
      SELECT visitor_id, entry_page, exit_page, events, url, ${referrerSourceParts('v')},
        ${channelPartsSql('v')}
      FROM visits AS v
    ), sourced AS (
      SELECT *, ${referrerSourceOf()} AS source FROM parts
    ), credited AS (
      SELECT visitor_id, entry_page, exit_page, events, source, ${channelSql()} AS channel,
        url, utm
      FROM ${channelSourceFrom('sourced', 'source', 'utm')}
    ), per_visitor AS (
      SELECT ${which((list) => `'${list}'`)} AS list, ${which((_, column) => column)} AS value,
        count(*) AS visits, sum(events) AS events
      FROM credited GROUP BY GROUPING SETS (${sets.join(', ')})
      UNION ALL ${campaignsPerVisitorSql('credited')}
    ), ranked AS (
      SELECT list, value, count(*) AS visitors, sum(visits) AS visits, sum(events) AS events,
        row_number() OVER (
          PARTITION BY list ORDER BY count(*) DESC, sum(visits) DESC, value
        ) AS rank
      FROM per_visitor WHERE value IS NOT NULL GROUP BY list, value
    )
    SELECT '${TOTALS}' AS list, NULL AS value, NULL AS visitors, count(*) AS visits,
      NULL AS events, 0 AS rank,
      ${VISIT_TOTALS_SQL.bounce_rate} AS bounce_rate,
      ${VISIT_TOTALS_SQL.visit_duration} AS visit_duration,
      ${VISIT_TOTALS_SQL.views_per_visit} AS views_per_visit
    FROM visits
    UNION ALL
    SELECT list, value, visitors, visits, events, rank, NULL, NULL, NULL
    FROM ranked WHERE rank <= ${params.add(top)}
    ORDER BY list, rank`;
}

/**
 * (list, value, visits, events) of each campaign list's value per visitor, over the visits of
 * `credited` (with their entry `url` and `utm`), each tag read as visitPropertySql reads it.
 * Only a visit whose entry URL has a query has a tag: the others are left out before any tag
 * is read. The query is split into its `name=value` pairs once per visit, each tag then found
 * among them, rather than a regular expression per tag over the URL: a tag is the first pair
 * of its name, `+` a space, decoded when its escapes spell UTF-8, trimmed, NULL when empty.
 */
function campaignsPerVisitorSql(credited: string): string {
  const tags = CAMPAIGN_TAGS.map((tag) => {
    const value = tag === 'utm_source' ? visitPropertySql(tag) : campaignTagSql(tag);
    return `{'list': '${campaignListOf(tag)}', 'value': ${value}}`;
  });
  return `SELECT tag.list, tag.value, count(*) AS visits, sum(events) AS events
      FROM (
        SELECT visitor_id, events, unnest([${tags.join(', ')}]) AS tag
        FROM (
          SELECT visitor_id, events, utm,
            string_split(regexp_extract(url, '${QUERY_RE}', 1), '&') AS pairs
          FROM ${credited} WHERE contains(url, '?')
        )
      ) WHERE tag.value IS NOT NULL GROUP BY tag.list, tag.value, visitor_id`;
}

/** The query of a URL (referrer-source.ts's queryParam reads its parameters in it). */
const QUERY_RE = String.raw`^[^?#]*\?([^#]*)`;

/** The value of `tag` among `pairs`, as queryParam and visitPropertySql read it. */
function campaignTagSql(tag: CampaignTag): string {
  const raw = `replace(substr(list_filter(pairs, (p) -> starts_with(p, '${tag}='))[1], ${
    tag.length + 2
  }), '+', ' ')`;
  return `nullif(trim(coalesce(try(url_decode(${raw})), ${raw})), '')`;
}

/** The totals and lists of the rows visitStatsQuery answers (in its order). */
export function visitStatsOf(rows: Row[]): VisitTotals & VisitLists {
  const totals = rows.find((row) => row.list === TOTALS);
  const listed = (list: string) => rows.filter((row) => row.list === list);
  const page = (row: Row): VisitPageRow => ({
    path: String(row.value),
    visitors: numberOf(row.visitors),
    visits: numberOf(row.visits),
  });
  return {
    visits: numberOf(totals?.visits),
    bounce_rate: nullableNumberOf(totals?.bounce_rate),
    visit_duration: nullableNumberOf(totals?.visit_duration),
    views_per_visit: nullableNumberOf(totals?.views_per_visit),
    top_entry_pages: listed('top_entry_pages').map(page),
    top_exit_pages: listed('top_exit_pages').map(page),
    top_referrer_sources: listed('top_referrer_sources').map((row) => ({
      source: String(row.value),
      referrer_source: String(row.value),
      visitors: numberOf(row.visitors),
      visits: numberOf(row.visits),
      events: numberOf(row.events),
    })),
    top_channels: listed('top_channels').map((row) => ({
      channel: String(row.value),
      visitors: numberOf(row.visitors),
      visits: numberOf(row.visits),
    })),
    ...campaignListsOf(listed),
  };
}

function campaignListsOf(
  listed: (list: string) => Row[],
): Record<CampaignList, VisitCampaignRow[]> {
  const lists = CAMPAIGN_TAGS.map((tag) => {
    const list = campaignListOf(tag);
    const rows = listed(list).map((row) => ({
      [tag]: String(row.value),
      visitors: numberOf(row.visitors),
      visits: numberOf(row.visits),
    }));
    return [list, rows];
  });
  return Object.fromEntries(lists) as Record<CampaignList, VisitCampaignRow[]>;
}
