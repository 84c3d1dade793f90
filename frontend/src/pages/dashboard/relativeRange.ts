// Relative date ranges ("Last 30 days", "Previous quarter") as analysts know them from Superset and
// Metabase. The URL keeps the expression (range=last-30-days), so a saved or shared link stays
// relative; it is resolved to days when the dashboard asks, from today in the profile's time zone.

export const RELATIVE_RANGES = [
  { value: "yesterday", label: "Yesterday" },
  { value: "last-7-days", label: "Last 7 days" },
  { value: "last-30-days", label: "Last 30 days" },
  { value: "last-90-days", label: "Last 90 days" },
  { value: "this-month", label: "This month" },
  { value: "previous-month", label: "Previous month" },
  { value: "this-quarter", label: "This quarter" },
  { value: "previous-quarter", label: "Previous quarter" },
  { value: "year-to-date", label: "Year to date" },
  { value: "previous-year", label: "Previous year" },
  { value: "all-time", label: "All time" },
] as const;

export type RelativeRange = (typeof RELATIVE_RANGES)[number]["value"];

/** Inclusive days (YYYY-MM-DD); null on both sides for "All time". */
export interface ResolvedRange {
  from: string | null;
  to: string | null;
}

export function isRelativeRange(value: string | null): value is RelativeRange {
  return RELATIVE_RANGES.some((r) => r.value === value);
}

export function rangeLabel(range: RelativeRange): string {
  return RELATIVE_RANGES.find((r) => r.value === range)?.label ?? range;
}

/** A calendar day as UTC midnight, so that adding days never meets a daylight saving change. */
function day(year: number, month: number, date: number): Date {
  return new Date(Date.UTC(year, month, date));
}

function iso(value: Date): string {
  return value.toISOString().slice(0, 10);
}

function parseDay(value: string): Date {
  const [year, month, date] = value.split("-").map(Number);
  return day(year ?? 1970, (month ?? 1) - 1, date ?? 1);
}

/** The days `range` covers when today is `today` (YYYY-MM-DD). */
export function resolveRange(range: RelativeRange, today: string): ResolvedRange {
  const now = parseDay(today);
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  const d = now.getUTCDate();
  const quarter = m - (m % 3);
  const upToToday = (from: Date): ResolvedRange => ({ from: iso(from), to: today });
  const whole = (from: Date, next: Date): ResolvedRange => ({
    from: iso(from),
    to: iso(new Date(next.getTime() - 86_400_000)),
  });
  switch (range) {
    case "yesterday":
      return { from: iso(day(y, m, d - 1)), to: iso(day(y, m, d - 1)) };
    case "last-7-days":
      return upToToday(day(y, m, d - 6));
    case "last-30-days":
      return upToToday(day(y, m, d - 29));
    case "last-90-days":
      return upToToday(day(y, m, d - 89));
    case "this-month":
      return upToToday(day(y, m, 1));
    case "previous-month":
      return whole(day(y, m - 1, 1), day(y, m, 1));
    case "this-quarter":
      return upToToday(day(y, quarter, 1));
    case "previous-quarter":
      return whole(day(y, quarter - 3, 1), day(y, quarter, 1));
    case "year-to-date":
      return upToToday(day(y, 0, 1));
    case "previous-year":
      return whole(day(y - 1, 0, 1), day(y, 0, 1));
    case "all-time":
      return { from: null, to: null };
  }
}

/** Today's date (YYYY-MM-DD) in an IANA time zone, or in the browser's when it is null or unknown. */
export function todayIn(timeZone: string | null, now: Date = new Date()): string {
  const parts = (zone: string | undefined) =>
    new Intl.DateTimeFormat("en-US", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" })
      .formatToParts(now)
      .reduce<Record<string, string>>((found, part) => ({ ...found, [part.type]: part.value }), {});
  let found: Record<string, string>;
  try {
    found = parts(timeZone ?? undefined);
  } catch {
    found = parts(undefined); // a zone this browser does not know
  }
  return `${found.year}-${found.month}-${found.day}`;
}

const dayRange = new Intl.DateTimeFormat(undefined, {
  month: "short",
  day: "numeric",
  year: "numeric",
  timeZone: "UTC",
});

/** Two inclusive days as a person reads them: "Nov 5 – Dec 4, 2026", "Jan 4 – 31, 2019". */
export function formatDayRange(from: string, to: string): string {
  return dayRange.formatRange(parseDay(from), parseDay(to));
}

/** What a range covers, in words: "Last 30 days: Nov 5 – Dec 4, 2026". */
export function describeRange(range: RelativeRange, today: string): string {
  const { from, to } = resolveRange(range, today);
  if (!from || !to) return `${rangeLabel(range)}: every day of the data`;
  return `${rangeLabel(range)}: ${formatDayRange(from, to)}`;
}
