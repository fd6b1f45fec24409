/** @module Nearest-rank percentiles over small in-memory samples (the board holds a bounded set). */

/** The p-th percentile (0-100) by nearest rank, or null for an empty sample. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** Median and p95 of an unsorted sample. */
export function spread(sample: number[]): { median_ms: number | null; p95_ms: number | null } {
  const s = [...sample].sort((a, b) => a - b);
  return { median_ms: percentile(s, 50), p95_ms: percentile(s, 95) };
}
