// A visit's acquisition channel as DuckDB expressions: channels.ts's rules compiled to one
// CASE over the columns of two steps, so that each input is computed once per visit:
// 1. channelPartsSql, beside referrerSourceParts, over the visit's first event: its url's
//    utm_medium and utm_campaign (decoded and trimmed, as the visit's campaign properties)
//    and its click id, lower-case (A–Z only, as channels.ts), '' when absent;
// 2. channelSourceFrom, over a relation with columns holding the visit's source
//    (referrerSourceOf) and its source tag (referrerSourceParts' `utm`: utm_source, else
//    source, else ref, as Plausible reads the utm_source its rules test): the source
//    lower-case ('' for Direct / None) and the tag lower-case ('' for none), then, in a
//    projection of its own so that the lowered source is computed once and not in each of
//    its WHENs, the source's category (source-categories.ts).
// channelSql is then the channel over those columns. The rules' words are channels.ts's
// constants, quoted here; no value from a request reaches this SQL.

import { CHANNEL_RULES, type ChannelField, type Condition } from './channels.ts';
import { DIRECT_SOURCE, queryParam, referrerSourceOf } from './referrer-source.ts';
import { lowerAsciiSql, sourceCategorySql } from './source-categories.ts';
import { sqlString } from './sql-literals.ts';

/** The column of each input of the rules. */
const COLUMNS: Record<ChannelField, string> = {
  source: 'ch_source',
  utm_source: 'ch_utm_source',
  utm_medium: 'ch_utm_medium',
  utm_campaign: 'ch_utm_campaign',
  click_id: 'ch_click_id',
};
const CATEGORY_COLUMN = 'ch_category';

/**
 * Click id parameters in Plausible's precedence, the first one the url has being its click id:
 * Google's ad click, its app-campaign clicks, then Microsoft's (Plausible's fbclid and twclid
 * come after msclkid, so they never change whether the first is gclid or msclkid).
 */
const CLICK_IDS = ['gclid', 'gbraid', 'wbraid', 'msclkid'] as const;

/**
 * The columns ch_utm_medium, ch_utm_campaign and ch_click_id of the row `alias` with the
 * visit's first event's `url`; the regular expressions only for a url with a query, as
 * referrerSourceParts.
 */
export function channelPartsSql(alias: string): string {
  const url = `${alias}."url"`;
  const withQuery = (sql: string) => `CASE WHEN contains(${url}, '?') THEN ${sql} ELSE '' END`;
  const tag = (name: string) =>
    withQuery(`coalesce(${lowerAsciiSql(`trim(${queryParam(url, name)})`)}, '')`);
  const clickIds = CLICK_IDS.map((name) => {
    const re = String.raw`^[^?#]*\?([^#]*&)?${name}(=|&|#|$)`;
    return `WHEN regexp_matches(${url}, '${re}') THEN '${name}'`;
  });
  return `${tag('utm_medium')} AS ${COLUMNS.utm_medium},
    ${tag('utm_campaign')} AS ${COLUMNS.utm_campaign},
    ${withQuery(`CASE ${clickIds.join(' ')} ELSE '' END`)} AS ${COLUMNS.click_id}`;
}

/**
 * The rows of `relation` (a name or a parenthesized query) with the columns ch_source,
 * ch_utm_source and ch_category, for visits whose source is the column `source` and whose
 * source tag (NULL for none) the column `tag`: a subquery to select from.
 */
export function channelSourceFrom(relation: string, source: string, tag: string): string {
  const lower = `CASE WHEN ${source} = '${DIRECT_SOURCE}' THEN ''
    ELSE ${lowerAsciiSql(source)} END`;
  const lowered = `SELECT *, ${lower} AS ${COLUMNS.source},
    coalesce(${lowerAsciiSql(tag)}, '') AS ${COLUMNS.utm_source} FROM ${relation}`;
  return `(SELECT *, ${sourceCategorySql(COLUMNS.source)} AS ${CATEGORY_COLUMN} FROM (${lowered}))`;
}

/**
 * The rows of `from` (visits with their first event's columns and referrerSourceParts) with
 * the columns their channel is made of, so that channelSql reads over them.
 */
export function channeledSql(from: string): string {
  const visits = `(SELECT *, ${referrerSourceOf()} AS visit_source, ${channelPartsSql('s')}
    FROM ${from} AS s)`;
  return `SELECT * FROM ${channelSourceFrom(visits, 'visit_source', 'utm')}`;
}

/** The channel over the columns of channelPartsSql and channelSourceFrom. */
export function channelSql(): string {
  const whens = CHANNEL_RULES.map(
    (rule) => `WHEN ${conditionSql(rule.when)} THEN ${sqlString(rule.channel)}`,
  );
  return `CASE ${whens.join(' ')} ELSE 'Direct' END`;
}

function conditionSql(c: Condition): string {
  if ('category' in c) return `${CATEGORY_COLUMN} = ${sqlString(c.category)}`;
  if ('any' in c) return `(${c.any.map(conditionSql).join(' OR ')})`;
  if ('all' in c) return `(${c.all.map(conditionSql).join(' AND ')})`;
  const column = COLUMNS[c.field];
  // list_contains, not IN: DuckDB plans a CASE of IN lists in milliseconds per statement.
  if ('in' in c) return `list_contains([${c.in.map(sqlString).join(', ')}], ${column})`;
  if ('contains' in c) {
    return `(${c.contains.map((part) => `contains(${column}, ${sqlString(part)})`).join(' OR ')})`;
  }
  if ('endsWith' in c) return `ends_with(${column}, ${sqlString(c.endsWith)})`;
  if ('matches' in c) return `regexp_matches(${column}, ${sqlString(`(?s)${c.matches}`)})`;
  return `${column} <> ''`;
}
