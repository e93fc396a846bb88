/** ISO 8601 UTC to the second, as the seed writes timestamps ("2026-03-14T10:45:00Z"). */
export function iso(d: Date): string;
export function iso(d: Date | null | undefined): string | null;
export function iso(d: Date | null | undefined): string | null {
  return d ? d.toISOString().replace(/\.\d{3}Z$/, 'Z') : null;
}

/** Seconds from start to end, to the millisecond (a run's `duration`); null until both are known. */
export function secondsBetween(start: Date | null, end: Date | null): number | null {
  return start && end ? Math.round(end.getTime() - start.getTime()) / 1000 : null;
}
