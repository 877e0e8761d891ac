// The largest message the hub can send a live socket, from the named limits: a snapshot is
// bounded by its lists (names per window, latest metrics, top paths, the names filter) and by
// the longest text each item may hold. A socket is closed as a slow consumer past
// wsBufferedBytesMax queued, so that limit must hold one whole message of this size: else a
// reader on a real network is closed on its first snapshot, before it could read any.

import { eventLimits, KiB, snapshotLimits } from '../core/index.ts';
import type { LiveLimits } from './limits.ts';

/**
 * Bytes of one UTF-16 unit in JSON at most: a control character or a lone surrogate is
 * written `\uXXXX` (a character of UTF-8 is at most 3 bytes a unit).
 */
const JSON_UNIT_BYTES_MAX = 6;
/** The longest JSON number: a double such as -2.2250738585072014e-308. */
const JSON_NUMBER_BYTES_MAX = 24;

const text = (chars: number) => 2 + JSON_UNIT_BYTES_MAX * chars;
/** The punctuation and keys of a template; values are counted apart. */
const frame = (template: string) => template.length;

const NAME_BYTES = text(eventLimits.nameCharsMax);
/** A window's `names` entry (`in_other` present or not), without its name. */
const NAME_COUNT_BYTES = frame('{"name":,"events":,"in_other":true},') + JSON_NUMBER_BYTES_MAX;
const PATH_BYTES =
  frame('{"path":,"views":},') + text(snapshotLimits.pathCharsShownMax) + JSON_NUMBER_BYTES_MAX;
/** A `latest_metrics` entry, without its name. */
const METRIC_BYTES =
  frame('{"name":,"value":,"timestamp":,"event_id":},') +
  text(eventLimits.eventIdCharsMax) +
  2 * JSON_NUMBER_BYTES_MAX;

/**
 * A snapshot message listing `listed` names per window and `listed` latest metrics, whose
 * names take `namesBytes` as JSON strings; with a filter (`filtered`) they are listed in
 * `names_filter` too.
 */
function snapshotBytesMax(listed: number, namesBytes: number, filtered: boolean): number {
  const window =
    frame('"24h":{"events":,"uniques":,"events_per_second":,"names":[],"top_paths":[]},') +
    3 * JSON_NUMBER_BYTES_MAX +
    listed * NAME_COUNT_BYTES +
    namesBytes +
    snapshotLimits.topPathsShownMax * PATH_BYTES;
  return (
    frame(
      '{"type":"snapshot","at":,"tenant":,"names_filter":null,"events_per_second":,' +
        '"windows":{},"latest_metrics":[]}',
    ) +
    2 * JSON_NUMBER_BYTES_MAX +
    text(eventLimits.tenantCharsMax) +
    (filtered ? listed + namesBytes : 0) +
    4 * window +
    listed * METRIC_BYTES +
    namesBytes
  );
}

/**
 * The largest message the hub sends with these limits, rounded up to a KiB: an unfiltered
 * snapshot (`namesShownMax` names in each window and latest metrics), or one for a filter of
 * `subscribeNamesMax` names, which as JSON fit the client's message (`clientMessageBytesMax`),
 * each listed in `names_filter`, in every window and with its latest metric. Heartbeats and
 * error messages are far smaller.
 */
export function liveMessageBytesMax(
  limits: Pick<LiveLimits, 'subscribeNamesMax' | 'namesShownMax' | 'clientMessageBytesMax'>,
): number {
  const { subscribeNamesMax, namesShownMax, clientMessageBytesMax } = limits;
  const all = snapshotBytesMax(namesShownMax, namesShownMax * NAME_BYTES, false);
  const filterBytes = Math.min(subscribeNamesMax * NAME_BYTES, clientMessageBytesMax);
  const filtered = snapshotBytesMax(subscribeNamesMax, filterBytes, true);
  return Math.ceil(Math.max(all, filtered) / KiB) * KiB;
}
