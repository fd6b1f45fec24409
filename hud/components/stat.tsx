/** @module One headline number with a plain-language label; the live script refreshes it. */
import type { FC } from "hono/jsx";
import type { StatsReport } from "../report.ts";
import { show } from "../view.ts";

/** Props of a Stat card. */
export interface StatProps {
  r: StatsReport;
  label: string;
  /** Dotted path into the report. */
  k: string;
  /** Format name (int, rate, dur, ms, pct, bool, text). */
  f?: string;
  hint?: string;
  /** A second, smaller figure under the main one: its label and path. */
  sub?: { label: string; k: string; f?: string };
  tone?: string;
}

/** A card showing one number. */
export const Stat: FC<StatProps> = ({ r, label, k, f = "int", hint, sub, tone }) => (
  <div class={`card stat${tone ? ` tone-${tone}` : ""}`}>
    <div class="label">{label}</div>
    <div class="value" data-k={k} data-f={f}>{show(r, k, f)}</div>
    {sub && (
      <div class="sub">
        {sub.label}{" "}
        <span data-k={sub.k} data-f={sub.f ?? "int"}>{show(r, sub.k, sub.f ?? "int")}</span>
      </div>
    )}
    {hint && <div class="hint">{hint}</div>}
  </div>
);

/** Text that the live script refreshes in place. */
export const Live: FC<{ r: StatsReport; k: string; f?: string }> = ({ r, k, f = "int" }) => (
  <span data-k={k} data-f={f}>{show(r, k, f)}</span>
);
