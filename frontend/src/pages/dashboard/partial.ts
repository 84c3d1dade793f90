// A first or last period the selection only partly covers (the data or the range starts or ends
// mid-week, mid-month...) is marked as partial: its total is not comparable with a whole one.
import type { Granularity } from "../../gql/graphql";

/** The start of the period after the one starting at `start` (UTC, as the data's periods are). */
export function nextPeriod(start: Date, granularity: Granularity): Date {
  const next = new Date(start.getTime());
  switch (granularity) {
    case "HOUR":
      next.setUTCHours(next.getUTCHours() + 1);
      break;
    case "DAY":
      next.setUTCDate(next.getUTCDate() + 1);
      break;
    case "WEEK":
      next.setUTCDate(next.getUTCDate() + 7);
      break;
    case "MONTH":
      next.setUTCMonth(next.getUTCMonth() + 1);
      break;
    case "QUARTER":
      next.setUTCMonth(next.getUTCMonth() + 3);
      break;
    case "YEAR":
      next.setUTCFullYear(next.getUTCFullYear() + 1);
      break;
  }
  return next;
}

export interface Coverage {
  /** First moment the selection covers (inclusive). */
  start: string | null | undefined;
  /** The moment after the last one it covers (exclusive). */
  end: string | null | undefined;
}

/** For each period start, whether the selection covers only part of that period. Only the first
 * and the last period can be partial. */
export function partialPeriods(periods: string[], granularity: Granularity, coverage: Coverage): boolean[] {
  const start = coverage.start ? new Date(coverage.start).getTime() : null;
  const end = coverage.end ? new Date(coverage.end).getTime() : null;
  return periods.map((period, index) => {
    const from = new Date(period);
    const first = index === 0 && start !== null && from.getTime() < start;
    const last = index === periods.length - 1 && end !== null && nextPeriod(from, granularity).getTime() > end;
    return first || last;
  });
}
