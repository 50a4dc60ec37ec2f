/**
 * Charts as self-contained SVG strings for the regulator dashboard: a bar chart and a line chart.
 * Pure functions of their data. Accessible: `role="img"`, an `aria-label` and a `<title>`/`<desc>`,
 * a `<title>` on every bar and point (the browser shows it as a tooltip), axis labels. No fonts,
 * stylesheets or scripts from anywhere: presentation attributes only, the system's sans-serif.
 */

export interface ChartDatum {
  /** The label under the bar or point, e.g. a district or a date. */
  label: string;
  value: number;
  /** Extra words for the bar's or point's tooltip, e.g. "3 / 4 合格". */
  note?: string;
}

export interface ChartOptions {
  /** The chart's accessible name, also drawn at the top. */
  title: string;
  /** A longer description for screen readers (`<desc>`). */
  description?: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  /** Top of the value axis; by default a round number at or above the largest value. */
  max?: number;
  /** Whole-number values (counts): no ticks between whole numbers. */
  integer?: boolean;
  /** How values are written on the axis and in tooltips; default: up to two decimals. */
  format?: (value: number) => string;
  /** What to write when there is no data. */
  empty?: string;
}

export interface LineChartOptions extends ChartOptions {
  /** Horizontal reference lines, e.g. p50 and p95. */
  markers?: { label: string; value: number }[];
}

const FONT = "system-ui, -apple-system, 'PingFang SC', 'Microsoft YaHei', sans-serif";
const INK = "#1b1b1b";
const MUTED = "#555555";
const GRID = "#dddddd";
const BAR = "#0b4f9c";
const LINE = "#0b4f9c";
const MARKER = "#a4000f";
const MARGIN = { top: 40, right: 16, bottom: 56, left: 64 };
const TICKS = 5;

/** Escapes text for an SVG text node or a double-quoted attribute. */
export function escapeXml(text: unknown): string {
  return String(text ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const num = (n: number): string => String(Math.round(n * 100) / 100);
const defaultFormat = (value: number): string => num(value);

/** The smallest of 1, 2 or 5 times a power of ten that is at least `x`. */
function niceStep(x: number): number {
  const power = 10 ** Math.floor(Math.log10(x));
  return [1, 2, 5, 10].map((m) => m * power).find((step) => step >= x * (1 - 1e-9))!;
}

/**
 * The value axis for data up to `largest`: a round step (about five ticks) and the first multiple
 * of it at or above `largest`. With `max`, the axis ends there instead.
 */
export function valueAxis(largest: number, max?: number, integer = false): { max: number; step: number } {
  const stepFor = (x: number) => (integer ? Math.max(1, niceStep(x)) : niceStep(x));
  if (max !== undefined && Number.isFinite(max) && max > 0) return { max, step: stepFor(max / TICKS) };
  if (!Number.isFinite(largest) || largest <= 0) return { max: 1, step: 1 };
  const step = stepFor(largest / TICKS);
  return { max: Math.ceil(largest / step - 1e-9) * step, step };
}

/** Rough width of `text` in pixels at `size`: CJK characters are square, others about half as wide. */
function textWidth(text: string, size: number): number {
  let width = 0;
  for (const c of text) width += /[\u2e80-\u9fff\uff00-\uffef]/.test(c) ? size : size * 0.6;
  return width;
}

/** `text` cut to fit `width` pixels, with an ellipsis when cut. */
function fit(text: string, width: number, size: number): string {
  if (textWidth(text, size) <= width) return text;
  let out = "";
  for (const c of text) {
    if (textWidth(out + c + "…", size) > width) break;
    out += c;
  }
  return out + "…";
}

interface Frame {
  width: number;
  height: number;
  plot: { x: number; y: number; width: number; height: number };
  max: number;
  step: number;
  format: (value: number) => string;
  /** The y coordinate of `value`. */
  y(value: number): number;
}

function frameOf(values: number[], options: ChartOptions): Frame {
  const width = options.width ?? 640;
  const height = options.height ?? 320;
  const plot = {
    x: MARGIN.left,
    y: MARGIN.top,
    width: width - MARGIN.left - MARGIN.right,
    height: height - MARGIN.top - MARGIN.bottom,
  };
  const largest = Math.max(0, ...values.filter(Number.isFinite));
  const { max, step } = valueAxis(largest, options.max, options.integer);
  const y = (value: number) => plot.y + plot.height - (Math.max(0, Math.min(value, max)) / max) * plot.height;
  return { width, height, plot, max, step, format: options.format ?? defaultFormat, y };
}

/** The `<svg>` element around `body`: title, description, value axis with grid, both axis labels. */
function chart(frame: Frame, options: ChartOptions, kind: string, body: string): string {
  const { plot, width, height } = frame;
  const count = Math.round(frame.max / frame.step);
  const ticks = Array.from({ length: count + 1 }, (_, i) => Math.min(frame.max, frame.step * i));
  const grid = ticks
    .map((value) => {
      const y = num(frame.y(value));
      return (
        `<line x1="${plot.x}" y1="${y}" x2="${plot.x + plot.width}" y2="${y}" stroke="${GRID}" stroke-width="1"/>` +
        `<text x="${plot.x - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" fill="${MUTED}">${escapeXml(frame.format(value))}</text>`
      );
    })
    .join("");
  const bottom = plot.y + plot.height;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart ${kind}" role="img" aria-label="${escapeXml(options.title)}" ` +
    `viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" font-family="${FONT}" font-size="12">` +
    `<title>${escapeXml(options.title)}</title>` +
    (options.description ? `<desc>${escapeXml(options.description)}</desc>` : "") +
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>` +
    `<text class="chart-title" x="${plot.x}" y="20" font-size="14" font-weight="600" fill="${INK}">${escapeXml(options.title)}</text>` +
    `<g class="grid" aria-hidden="true">${grid}</g>` +
    `<g class="axes" aria-hidden="true">` +
    `<line class="y-axis" x1="${plot.x}" y1="${plot.y}" x2="${plot.x}" y2="${bottom}" stroke="${INK}" stroke-width="1"/>` +
    `<line class="x-axis" x1="${plot.x}" y1="${bottom}" x2="${plot.x + plot.width}" y2="${bottom}" stroke="${INK}" stroke-width="1"/>` +
    `<text class="axis-label y-label" x="14" y="${num(plot.y + plot.height / 2)}" text-anchor="middle" fill="${INK}" ` +
    `transform="rotate(-90 14 ${num(plot.y + plot.height / 2)})">${escapeXml(options.yLabel)}</text>` +
    `<text class="axis-label x-label" x="${num(plot.x + plot.width / 2)}" y="${height - 8}" text-anchor="middle" fill="${INK}">${escapeXml(options.xLabel)}</text>` +
    `</g>` +
    body +
    `</svg>`
  );
}

/** Labels under the x axis at `xs`, every `step`-th one, each cut to `room` pixels. */
function xLabels(frame: Frame, data: ChartDatum[], xs: number[], room: number): string {
  const size = 11;
  const step = Math.max(1, Math.ceil(data.length / Math.max(1, Math.floor(frame.plot.width / 48))));
  const y = frame.plot.y + frame.plot.height + 16;
  const width = Math.max(room * step, 24) - 4;
  return data
    .map((d, i) =>
      i % step === 0
        ? `<text x="${num(xs[i]!)}" y="${y}" text-anchor="middle" font-size="${size}" fill="${INK}">${escapeXml(fit(d.label, width, size))}</text>`
        : "",
    )
    .join("");
}

function emptyNote(frame: Frame, options: ChartOptions): string {
  const { plot } = frame;
  return (
    `<text class="empty" x="${num(plot.x + plot.width / 2)}" y="${num(plot.y + plot.height / 2)}" text-anchor="middle" ` +
    `fill="${MUTED}">${escapeXml(options.empty ?? "暂无数据 · No data")}</text>`
  );
}

const tooltip = (d: ChartDatum, frame: Frame) =>
  `<title>${escapeXml(`${d.label}: ${frame.format(d.value)}${d.note ? ` (${d.note})` : ""}`)}</title>`;

/**
 * A vertical bar chart: one bar per datum, its height proportional to its value (from zero to the
 * axis maximum). Each bar is a `<rect class="bar">` with `data-label` and `data-value`.
 */
export function barChart(data: ChartDatum[], options: ChartOptions): string {
  const frame = frameOf(
    data.map((d) => d.value),
    options,
  );
  if (data.length === 0) return chart(frame, options, "bar-chart", emptyNote(frame, options));
  const { plot } = frame;
  const slot = plot.width / data.length;
  const barWidth = Math.max(1, Math.min(48, slot * 0.7));
  const xs = data.map((_, i) => plot.x + slot * i + slot / 2);
  const bottom = plot.y + plot.height;
  const bars = data
    .map((d, i) => {
      const top = frame.y(d.value);
      const x = xs[i]! - barWidth / 2;
      const value =
        slot >= 28
          ? `<text x="${num(xs[i]!)}" y="${num(top - 4)}" text-anchor="middle" font-size="11" fill="${INK}">${escapeXml(frame.format(d.value))}</text>`
          : "";
      return (
        `<rect class="bar" x="${num(x)}" y="${num(top)}" width="${num(barWidth)}" height="${num(bottom - top)}" ` +
        `fill="${BAR}" data-label="${escapeXml(d.label)}" data-value="${d.value}">${tooltip(d, frame)}</rect>${value}`
      );
    })
    .join("");
  return chart(
    frame,
    options,
    "bar-chart",
    `<g class="bars">${bars}</g><g class="x-labels" aria-hidden="true">${xLabels(frame, data, xs, slot)}</g>`,
  );
}

/**
 * A line chart: the data in order, joined by a line, with a dot (`<circle class="point">`, with
 * `data-label` and `data-value`) per datum, and optional dashed reference lines.
 */
export function lineChart(data: ChartDatum[], options: LineChartOptions): string {
  const markers = options.markers ?? [];
  const frame = frameOf([...data.map((d) => d.value), ...markers.map((m) => m.value)], options);
  if (data.length === 0) return chart(frame, options, "line-chart", emptyNote(frame, options));
  const { plot } = frame;
  const slot = data.length > 1 ? plot.width / (data.length - 1) : plot.width;
  const xs = data.map((_, i) => (data.length > 1 ? plot.x + slot * i : plot.x + plot.width / 2));
  const path = data.map((d, i) => `${i === 0 ? "M" : "L"}${num(xs[i]!)} ${num(frame.y(d.value))}`).join(" ");
  const points = data
    .map(
      (d, i) =>
        `<circle class="point" cx="${num(xs[i]!)}" cy="${num(frame.y(d.value))}" r="3.5" fill="${LINE}" ` +
        `data-label="${escapeXml(d.label)}" data-value="${d.value}">${tooltip(d, frame)}</circle>`,
    )
    .join("");
  const lines = markers
    .map((m) => {
      const y = num(frame.y(m.value));
      return (
        `<g class="marker"><line x1="${plot.x}" y1="${y}" x2="${plot.x + plot.width}" y2="${y}" stroke="${MARKER}" ` +
        `stroke-width="1" stroke-dasharray="4 3"/><text x="${plot.x + plot.width - 2}" y="${num(Number(y) - 4)}" ` +
        `text-anchor="end" font-size="11" fill="${MARKER}">${escapeXml(`${m.label} ${frame.format(m.value)}`)}</text></g>`
      );
    })
    .join("");
  return chart(
    frame,
    options,
    "line-chart",
    `<g class="markers">${lines}</g><path class="line" d="${path}" fill="none" stroke="${LINE}" stroke-width="2"/>` +
      `<g class="points">${points}</g><g class="x-labels" aria-hidden="true">${xLabels(frame, data, xs, slot)}</g>`,
  );
}
