/** @module A table whose rows come from `rowsFor`, so the live script can rebuild it identically. */
import type { FC } from "hono/jsx";
import type { StatsReport } from "../report.ts";
import { rowsFor } from "../view.ts";

/** Props of a live table. */
export interface TableProps {
  r: StatsReport;
  /** The list name rowsFor knows. */
  list: string;
  head: string[];
  /** Shown when there are no rows. */
  empty: string;
}

/** A table of rows (optionally with a bar in the first column), or a note when empty. */
export const Table: FC<TableProps> = ({ r, list, head, empty }) => {
  const rows = rowsFor(list, r);
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>{head.map((h) => <th key={h}>{h}</th>)}</tr>
        </thead>
        <tbody data-list={list} data-cols={head.length} data-empty={empty}>
          {rows.length === 0
            ? (
              <tr class="empty">
                <td colspan={head.length}>{empty}</td>
              </tr>
            )
            : rows.map((row) => (
              <tr>
                {row.cells.map((c, i) => (
                  <td>
                    {c}
                    {i === 0 && row.bar !== undefined && (
                      <div class="bar">
                        <i style={`width:${(row.bar * 100).toFixed(1)}%`} />
                      </div>
                    )}
                  </td>
                ))}
              </tr>
            ))}
        </tbody>
      </table>
    </div>
  );
};
