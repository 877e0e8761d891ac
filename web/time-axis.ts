// The words of the charts' time axis and of the series legend's time, written by Intl in the
// page's zone. uPlot writes them from its tzDate, a Date shifted into the browser's own zone,
// which cannot hold every wall-clock time of another zone: around the browser zone's DST
// change it shows the wrong hour (a Berlin browser showing UTC labelled 01:00Z and 02:00Z as
// 12am and 1am, the hour before each). Where the ticks go stays uPlot's.

const MINUTE_S = 60;
const DAY_S = 86_400;
/** uPlot's least month step (28 days) and year step (365 days), in seconds. */
const MONTH_S = 28 * DAY_S;
const YEAR_S = 365 * DAY_S;

/** The wall-clock fields a label may show, in one zone. */
interface Wall {
  year: string;
  month: string;
  day: string;
}

/** The formats of one zone and locale, made once per zone (Intl formatters cost to make). */
interface ZoneFormats {
  wall: Intl.DateTimeFormat;
  seconds: Intl.DateTimeFormat;
  minutes: Intl.DateTimeFormat;
  day: Intl.DateTimeFormat;
  month: Intl.DateTimeFormat;
  year: Intl.DateTimeFormat;
  legend: Intl.DateTimeFormat;
}

function formatsOf(timeZone: string, locale?: string): ZoneFormats {
  const of = (options: Intl.DateTimeFormatOptions) =>
    new Intl.DateTimeFormat(locale, { ...options, timeZone });
  return {
    wall: new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
    }),
    seconds: of({ hour: 'numeric', minute: '2-digit', second: '2-digit' }),
    minutes: of({ hour: 'numeric', minute: '2-digit' }),
    day: of({ month: 'short', day: 'numeric' }),
    month: of({ month: 'short' }),
    year: of({ year: 'numeric' }),
    // With the zone's abbreviation: the hour a DST change repeats reads twice otherwise.
    legend: of({
      year: 'numeric',
      month: 'short',
      day: 'numeric',
      hour: 'numeric',
      minute: '2-digit',
      timeZoneName: 'short',
    }),
  };
}

function wallOf(formats: ZoneFormats, ms: number): Wall {
  const wall: Wall = { year: '', month: '', day: '' };
  for (const part of formats.wall.formatToParts(ms)) {
    if (part.type === 'year' || part.type === 'month' || part.type === 'day') {
      wall[part.type] = part.value;
    }
  }
  return wall;
}

/**
 * The labels of ticks at `splits` (epoch seconds) `incr` seconds apart, in `timeZone`: a time
 * (with seconds under a minute's step) and the day below it where the day changes; a day, and
 * the year below it where the year changes; a month, and its year likewise; a year. The first
 * tick always names its day (or year).
 */
function timeAxisLabels(splits: readonly number[], incr: number, formats: ZoneFormats): string[] {
  let last: Wall | null = null;
  return splits.map((split) => {
    const ms = split * 1000;
    const wall = wallOf(formats, ms);
    const newYear = last === null || last.year !== wall.year;
    const newDay = newYear || last?.month !== wall.month || last?.day !== wall.day;
    last = wall;
    if (incr >= YEAR_S) return formats.year.format(ms);
    const yearBelow = newYear ? `\n${formats.year.format(ms)}` : '';
    if (incr >= MONTH_S) return `${formats.month.format(ms)}${yearBelow}`;
    if (incr >= DAY_S) return `${formats.day.format(ms)}${yearBelow}`;
    const time = (incr < MINUTE_S ? formats.seconds : formats.minutes).format(ms);
    return newDay ? `${time}\n${formats.day.format(ms)}` : time;
  });
}

/** The time axis and legend time of a chart, in the zone `timeZone()` gives at each draw. */
export function zoneTime(timeZone: () => string, locale?: string) {
  let kept: { zone: string; formats: ZoneFormats } | null = null;
  const formats = () => {
    const zone = timeZone();
    if (kept?.zone !== zone) kept = { zone, formats: formatsOf(zone, locale) };
    return kept.formats;
  };
  return {
    /** uPlot's axis `values`: the labels of the ticks it placed. */
    axisValues: (_u: unknown, splits: number[], _axis: number, _space: number, incr: number) =>
      timeAxisLabels(splits, incr, formats()),
    /** uPlot's x series `value`: the legend's time of the point under the cursor. */
    legendValue: (_u: unknown, seconds: number | null, _series: number, idx: number | null) =>
      seconds === null || idx === null ? '--' : formats().legend.format(seconds * 1000),
  };
}
