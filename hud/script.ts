/**
 * @module The page's only script: polls /api/stats and refreshes numbers, tables and charts in
 * place. Event-derived text is set with textContent only, never parsed as HTML.
 */
import { CHART_FLOWS, CHART_H, CHART_W } from "./components/chart.tsx";
import { VIEW_SOURCE } from "./view.ts";

/** How often the page asks for fresh numbers. */
export const POLL_MS = 2000;

/** The script text, embedded inline so the page needs no other request. */
export const SCRIPT = `(() => {
${VIEW_SOURCE}
const FLOWS = ${JSON.stringify(CHART_FLOWS)}, W = ${CHART_W}, H = ${CHART_H};
const status = document.getElementById("status");
let updates = 0;
function setStatus(live, text) {
  status.className = "status " + (live ? "live" : "down");
  status.textContent = text;
  document.body.dataset.state = live ? "live" : "reconnecting";
}
function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}
function render(r) {
  document.title = r.relay.name + " · Nostr relay status";
  for (const el of document.querySelectorAll("[data-k]")) {
    const t = show(r, el.dataset.k, el.dataset.f || "int");
    if (el.textContent !== t) el.textContent = t;
  }
  for (const tb of document.querySelectorAll("tbody[data-list]")) {
    const rows = rowsFor(tb.dataset.list, r);
    const out = [];
    if (rows.length === 0) {
      const tr = document.createElement("tr");
      tr.className = "empty";
      const td = cell(tb.dataset.empty);
      td.colSpan = Number(tb.dataset.cols);
      tr.append(td);
      out.push(tr);
    }
    for (const row of rows) {
      const tr = document.createElement("tr");
      row.cells.forEach((c, i) => {
        const td = cell(c);
        if (i === 0 && row.bar !== undefined) {
          const bar = document.createElement("div");
          bar.className = "bar";
          const fill = document.createElement("i");
          fill.style.width = (row.bar * 100).toFixed(1) + "%";
          bar.append(fill);
          td.append(bar);
        }
        tr.append(td);
      });
      out.push(tr);
    }
    tb.replaceChildren(...out);
  }
  for (const svg of document.querySelectorAll("svg[data-chart]")) {
    const name = svg.dataset.chart, s = r.rates[name];
    const g = chart(s, FLOWS, s.step_seconds, W, H);
    for (const pl of svg.querySelectorAll("polyline[data-flow]")) {
      pl.setAttribute("points", g.lines[pl.dataset.flow] || "");
    }
    const axis = document.querySelector('[data-axis="' + name + '"]');
    if (axis) axis.textContent = fmtInt(g.max);
  }
  document.body.dataset.updates = String(++updates);
}
async function poll() {
  try {
    const res = await fetch("/api/stats", { cache: "no-store" });
    if (!res.ok) throw new Error("HTTP " + res.status);
    render(await res.json());
    setStatus(true, "Live · updated " + new Date().toLocaleTimeString());
  } catch {
    // The relay may be restarting: keep polling, the next answer restores the live state.
    setStatus(false, "Reconnecting… the relay did not answer, retrying every ${POLL_MS / 1000} s");
  }
  setTimeout(poll, ${POLL_MS});
}
setTimeout(poll, ${POLL_MS});
})();`;
