/** @module The page's inline stylesheet: no external assets, light and dark from the system. */

/** CSS for the HUD page. */
export const CSS = `
:root {
  --bg: #f5f6f8; --card: #ffffff; --fg: #161a21; --muted: #5f6b7a; --line: #e2e6ec;
  --accent: #3b5bdb; --received: #3b82f6; --stored: #16a34a; --delivered: #9333ea;
  --refused: #dc2626; --bar: #c7d2fe; --ok: #16a34a; --bad: #b45309;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0f1217; --card: #171b22; --fg: #e6e9ef; --muted: #8b95a5; --line: #262c36;
    --accent: #8ea2ff; --received: #60a5fa; --stored: #4ade80; --delivered: #c084fc;
    --refused: #f87171; --bar: #2e3a6b; --ok: #4ade80; --bad: #fbbf24;
  }
}
* { box-sizing: border-box; }
body {
  margin: 0; background: var(--bg); color: var(--fg);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
main { max-width: 1280px; margin: 0 auto; padding: 16px; }
header.top { display: flex; flex-wrap: wrap; gap: 12px 24px; align-items: flex-end;
  justify-content: space-between; margin-bottom: 16px; }
h1 { margin: 0; font-size: 1.6rem; letter-spacing: -0.01em; }
h2 { margin: 28px 0 10px; font-size: 1.1rem; }
h3 { margin: 0 0 8px; font-size: 0.95rem; }
h2 small, .muted { color: var(--muted); font-weight: normal; }
code { font: 0.95em ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 2px 6px;
  word-break: break-all; }
.connect { margin: 6px 0 0; }
.badge { display: inline-block; padding: 2px 10px; border-radius: 999px; font-size: 0.85rem;
  border: 1px solid var(--line); background: var(--card); }
.status { font-size: 0.85rem; color: var(--muted); }
.status::before { content: ""; display: inline-block; width: 9px; height: 9px; border-radius: 50%;
  margin-right: 6px; background: var(--ok); vertical-align: 0; }
.status.down::before { background: var(--bad); }
.status.down { color: var(--bad); font-weight: 600; }
/* While the relay does not answer, the numbers shown are the last ones it gave: dim them. */
body[data-state="reconnecting"] .card { opacity: 0.55; }
.grid { display: grid; gap: 12px; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); }
.cols { display: grid; gap: 16px; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px;
  padding: 12px 14px; min-width: 0; }
.stat .label { color: var(--muted); font-size: 0.85rem; }
.stat .value { font-size: 1.9rem; font-weight: 650; font-variant-numeric: tabular-nums;
  line-height: 1.2; }
.stat .sub { color: var(--muted); font-size: 0.85rem; font-variant-numeric: tabular-nums; }
.stat .hint { color: var(--muted); font-size: 0.78rem; margin-top: 4px; }
.tone-received .value { color: var(--received); } .tone-stored .value { color: var(--stored); }
.tone-delivered .value { color: var(--delivered); } .tone-refused .value { color: var(--refused); }
.chart { margin: 0; }
.chart figcaption { font-size: 0.9rem; margin-bottom: 6px; }
.chart svg { width: 100%; height: 160px; display: block; background: var(--bg);
  border-radius: 6px; }
.chart .gridline { stroke: var(--line); stroke-width: 1; vector-effect: non-scaling-stroke; }
.line { fill: none; stroke-width: 2; vector-effect: non-scaling-stroke;
  stroke-linejoin: round; }
.flow-received { stroke: var(--received); } .flow-stored { stroke: var(--stored); }
.flow-delivered { stroke: var(--delivered); } .flow-refused { stroke: var(--refused); }
.axis { display: flex; justify-content: space-between; color: var(--muted); font-size: 0.78rem; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 16px; font-size: 0.85rem; margin: 4px 0 10px; }
.legend i { display: inline-block; width: 14px; height: 3px; vertical-align: middle;
  margin-right: 6px; border-radius: 2px; }
.table-wrap { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; font-size: 0.9rem;
  font-variant-numeric: tabular-nums; }
th { text-align: left; color: var(--muted); font-weight: 500; font-size: 0.8rem;
  border-bottom: 1px solid var(--line); padding: 4px 8px 4px 0; }
td { border-bottom: 1px solid var(--line); padding: 6px 8px 6px 0; vertical-align: top;
  overflow-wrap: anywhere; }
td + td, th + th { text-align: right; }
/* Figures stay whole ("46/s", "317 ms"); names in the first column may still wrap anywhere. */
td + td { white-space: nowrap; }
tr.empty td { color: var(--muted); text-align: left; font-style: italic; }
.bar { height: 4px; background: var(--line); border-radius: 2px; margin-top: 4px; }
.bar i { display: block; height: 100%; background: var(--accent); border-radius: 2px; }
dl.kv { display: grid; grid-template-columns: auto 1fr; gap: 4px 16px; margin: 0; font-size: 0.9rem; }
dl.kv dt { color: var(--muted); } dl.kv dd { margin: 0; font-variant-numeric: tabular-nums; }
footer { color: var(--muted); font-size: 0.8rem; margin: 32px 0 8px; }
@media (max-width: 520px) {
  main { padding: 10px; } .stat .value { font-size: 1.5rem; }
  .grid { grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 8px; }
  .cols { grid-template-columns: minmax(0, 1fr); }
}
`;
