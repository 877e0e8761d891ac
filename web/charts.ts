// The dashboard's two charts, drawn with uPlot (bundled, no CDN): the live events/s line fed
// from WebSocket snapshots, and the bucketed time series from the query API, its time axis in
// the chosen IANA zone. Both follow the width of their container.

import uPlot from 'uplot';
import { zoneTime } from './time-axis.ts';

const HEIGHT_PX = 220;
/** Live samples kept: one a second for five minutes. */
const RATE_SPAN_S = 300;
const RATE_POINTS_MAX = RATE_SPAN_S;

/**
 * The narrowest a chart is drawn: its container's width, even on a 320 px phone, but some
 * width while the page is still hidden (0 wide); the ResizeObserver sizes it once shown.
 */
const WIDTH_MIN_PX = 120;

const widthOf = (el: HTMLElement) => Math.max(WIDTH_MIN_PX, el.clientWidth);

/** The least room between time ticks: labels such as "12:30 AM" (uPlot's 50 px would touch). */
const X_TICK_SPACE_PX = 72;

/** uPlot's own width of a y axis; a wider one is taken only for longer labels. */
const Y_AXIS_MIN_PX = 50;

/** What uPlot keeps on an axis once drawn: its size, and its font scaled for the canvas. */
interface DrawnAxis {
  _size?: number;
  font: [string, number];
  gap: number;
  ticks: { size: number };
}

/**
 * The width of a y axis from its longest label ("2,000,000"), as uPlot's axis-autosize
 * recipe: its fixed 50 px cut the first digits off counts of 7 digits and more.
 */
function yAxisSize(self: uPlot, values: string[] | null, axisIdx: number, cycle: number): number {
  const axis = self.axes[axisIdx] as unknown as DrawnAxis;
  // Later rounds of a draw keep the first one's size, so the layout settles.
  if (cycle > 1 && axis._size !== undefined) return axis._size;
  const longest = (values ?? []).reduce((a, b) => (b.length > a.length ? b : a), '');
  if (longest === '') return Y_AXIS_MIN_PX;
  const saved = self.ctx.font;
  self.ctx.font = axis.font[0];
  const text = self.ctx.measureText(longest).width / uPlot.pxRatio;
  self.ctx.font = saved;
  return Math.max(Y_AXIS_MIN_PX, Math.ceil(text + axis.ticks.size + axis.gap));
}

/**
 * Steps of a y axis of counts: whole numbers (1, 2, 5, 10 … up to 2^53), so a series of a few
 * events is not read off 0.25 or 0.5 events.
 */
const WHOLE_INCRS = Array.from({ length: 16 }, (_, k) => [1, 2, 5].map((m) => m * 10 ** k)).flat();

/**
 * The axes of a chart: time along x, labelled by Intl in the page's zone (web/time-axis.ts),
 * the values up y with room for their labels (whole steps for counts).
 */
const axes = (time: ReturnType<typeof zoneTime>, counts: boolean): uPlot.Axis[] => [
  { values: time.axisValues, space: X_TICK_SPACE_PX },
  counts ? { size: yAxisSize, incrs: WHOLE_INCRS } : { size: yAxisSize },
];

function resizeWith(chart: uPlot, el: HTMLElement): void {
  new ResizeObserver(() => chart.setSize({ width: widthOf(el), height: HEIGHT_PX })).observe(el);
}

function seriesStyle(label: string): uPlot.Series {
  return {
    label,
    stroke: '#2f6fde',
    width: 2,
    fill: 'rgba(47, 111, 222, 0.12)',
    points: { show: false },
  };
}

export class RateChart {
  private readonly times: number[] = [];
  private readonly rates: (number | null)[] = [];
  private readonly chart: uPlot;

  /** `timeZone` is read at each draw: the axis follows the page's zone when it changes. */
  constructor(el: HTMLElement, timeZone: () => string) {
    const time = zoneTime(timeZone);
    this.chart = new uPlot(
      {
        width: widthOf(el),
        height: HEIGHT_PX,
        tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), timeZone()),
        series: [{ value: time.legendValue }, seriesStyle('events/s')],
        scales: {
          // Always the last five minutes, so the axis reads the same from the first sample.
          x: { time: true, range: () => [Date.now() / 1000 - RATE_SPAN_S, Date.now() / 1000] },
          y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.2)] },
        },
        axes: axes(time, false),
        legend: { show: false },
        cursor: { show: true },
      },
      [[], []],
      el,
    );
    resizeWith(this.chart, el);
  }

  /** Draws the axis again, in the zone `timeZone` gives now. */
  redraw(): void {
    this.chart.redraw(false, true);
  }

  /** Forgets every sample: the page now shows another project, or was locked meanwhile. */
  clear(): void {
    this.times.length = 0;
    this.rates.length = 0;
    this.chart.setData([this.times, this.rates]);
  }

  /**
   * Adds one sample (epoch ms, events/s; null while the page knows no rate: the socket down or
   * in error) and drops those older than five minutes. A null breaks the line, so a span with
   * no rate is drawn as a gap, not as a line from the rate before it to the one after.
   */
  add(atMs: number, rate: number | null): void {
    this.times.push(atMs / 1000);
    this.rates.push(rate);
    if (this.times.length > RATE_POINTS_MAX) {
      this.times.shift();
      this.rates.shift();
    }
    this.chart.setData([this.times, this.rates]);
  }
}

export interface SeriesData {
  /** Bucket starts, epoch seconds. */
  times: number[];
  values: (number | null)[];
  label: string;
}

export class SeriesChart {
  private chart: uPlot | null = null;

  constructor(private readonly el: HTMLElement) {
    new ResizeObserver(() =>
      this.chart?.setSize({ width: widthOf(el), height: HEIGHT_PX }),
    ).observe(el);
  }

  /** Removes the chart: the page now shows another project. */
  clear(): void {
    this.chart?.destroy();
    this.chart = null;
  }

  /** Draws the series (a new chart each time: the zone and label may have changed). */
  show(data: SeriesData, tz: string): void {
    this.chart?.destroy();
    const time = zoneTime(() => tz);
    this.chart = new uPlot(
      {
        width: widthOf(this.el),
        height: HEIGHT_PX,
        tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), tz),
        series: [{ value: time.legendValue }, seriesStyle(data.label)],
        scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
        axes: axes(time, true),
        legend: { show: true },
      },
      [data.times, data.values],
      this.el,
    );
  }
}
