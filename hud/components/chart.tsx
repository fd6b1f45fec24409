/** @module An SVG line chart of events per second; the live script redraws its lines. */
import type { FC } from "hono/jsx";
import type { RateSeries } from "../report.ts";
import { chart } from "../view.ts";

/** Chart box in SVG units (scaled to the container). */
export const CHART_W = 600;
/** Chart height in SVG units. */
export const CHART_H = 150;
/** Flows drawn, in legend order. */
export const CHART_FLOWS = ["received", "stored", "delivered", "refused"];

/** Props of a rate chart. */
export interface ChartProps {
  /** Which report series: `short` or `hour`. */
  name: "short" | "hour";
  series: RateSeries;
  title: string;
  from: string;
}

/** Events per second over a window, one line per flow. */
export const Chart: FC<ChartProps> = ({ name, series, title, from }) => {
  const g = chart(series, CHART_FLOWS, series.step_seconds, CHART_W, CHART_H);
  return (
    <figure class="chart">
      <figcaption>
        {title} <span class="muted">· events per second, top of scale</span>{" "}
        <b data-axis={name}>{g.max}</b>
      </figcaption>
      <svg
        viewBox={`0 0 ${CHART_W} ${CHART_H}`}
        preserveAspectRatio="none"
        role="img"
        aria-label={title}
        data-chart={name}
        data-step={series.step_seconds}
      >
        {[0.25, 0.5, 0.75].map((f) => (
          <line class="gridline" x1="0" x2={CHART_W} y1={CHART_H * f} y2={CHART_H * f} />
        ))}
        {CHART_FLOWS.map((f) => (
          <polyline class={`line flow-${f}`} data-flow={f} points={g.lines[f]} />
        ))}
      </svg>
      <div class="axis">
        <span>{from}</span>
        <span>now</span>
      </div>
    </figure>
  );
};
