// Numbers, dates and durations for the browser's locale (Intl with the default locale).

const cache = new Map<string, Intl.NumberFormat>();

function numberFormat(options: Intl.NumberFormatOptions): Intl.NumberFormat {
  const key = JSON.stringify(options);
  let format = cache.get(key);
  if (!format) {
    format = new Intl.NumberFormat(undefined, options);
    cache.set(key, format);
  }
  return format;
}

export const DASH = "–";

export function formatNumber(value: number | null | undefined, fractionDigits = 2): string {
  if (value === null || value === undefined || Number.isNaN(value)) return DASH;
  return numberFormat({ minimumFractionDigits: fractionDigits, maximumFractionDigits: fractionDigits }).format(value);
}

export function formatInteger(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return DASH;
  return numberFormat({ maximumFractionDigits: 0 }).format(value);
}

let currency: string | null = null;

/** The service's currency (an ISO 4217 code such as "EUR"), or null for plain numbers. Set once
 * from the service's settings; every money figure goes through formatMoney. */
export function setCurrency(code: string | null): void {
  currency = code;
}

/** A money figure: with the service's currency when one is set, else as formatNumber. */
export function formatMoney(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return DASH;
  if (!currency) return formatNumber(value);
  return numberFormat({ style: "currency", currency, minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(
    value,
  );
}

/** Compact figures for chart axes: 12K, 1.2M. */
export function formatCompact(value: number): string {
  return numberFormat({ notation: "compact", maximumFractionDigits: 1 }).format(value);
}

/** `value` in percent (12.5 means 12.5 %). */
export function formatPercent(value: number | null | undefined, fractionDigits = 1): string {
  if (value === null || value === undefined || Number.isNaN(value)) return DASH;
  return numberFormat({
    style: "percent",
    minimumFractionDigits: fractionDigits,
    maximumFractionDigits: fractionDigits,
  }).format(value / 100);
}

/** A change in percent with its sign: +12.5 %, −3.0 %. */
export function formatChange(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return DASH;
  return numberFormat({
    style: "percent",
    signDisplay: "exceptZero",
    minimumFractionDigits: 1,
    maximumFractionDigits: 1,
  }).format(value / 100);
}

// Sizes are binary, as the service's settings count them (MAX_UPLOAD_MB=500 is 500 x 1,024 x 1,024
// bytes): 1 KB is 1,024 bytes. Whole bytes below 1 KB ("37 B"), one decimal at most above
// ("1.2 MB"). backend/units.py is the twin the CLI and the service's messages use.
const SIZE_UNITS = ["B", "KB", "MB", "GB", "TB"] as const;

/** A size in bytes: "37 B", "1.2 KB", "500 MB". */
export function formatBytes(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return DASH;
  let amount = value;
  let unit = 0;
  const rounded = (n: number) => (unit === 0 ? Math.round(Math.abs(n)) : Math.round(Math.abs(n) * 10) / 10);
  while (unit < SIZE_UNITS.length - 1 && rounded(amount) >= 1024) {
    amount /= 1024;
    unit += 1;
  }
  const digits = numberFormat({ maximumFractionDigits: unit === 0 ? 0 : 1 }).format(amount);
  return `${digits} ${SIZE_UNITS[unit]}`;
}

/** A transfer rate in bytes per second: "3 B/s", "3.4 MB/s". */
export function formatRate(bytesPerSecond: number | null | undefined): string {
  if (bytesPerSecond === null || bytesPerSecond === undefined || Number.isNaN(bytesPerSecond)) return DASH;
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** A count of things with grouped digits and the right word: "1 row", "2 rows", "1,234 rows". */
export function formatCount(value: number | null | undefined, singular: string, plural = `${singular}s`): string {
  if (value === null || value === undefined || Number.isNaN(value)) return DASH;
  return `${formatInteger(value)} ${value === 1 ? singular : plural}`;
}

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return DASH;
  if (seconds < 1) {
    return numberFormat({ style: "unit", unit: "millisecond", maximumFractionDigits: 0 }).format(seconds * 1000);
  }
  if (seconds < 120) {
    return numberFormat({ style: "unit", unit: "second", maximumFractionDigits: 1 }).format(seconds);
  }
  if (seconds < 7200) {
    return numberFormat({ style: "unit", unit: "minute", maximumFractionDigits: 1 }).format(seconds / 60);
  }
  if (seconds < 172800) {
    return numberFormat({ style: "unit", unit: "hour", maximumFractionDigits: 1 }).format(seconds / 3600);
  }
  return numberFormat({ style: "unit", unit: "day", maximumFractionDigits: 1 }).format(seconds / 86400);
}

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return DASH;
  return numberFormat({ style: "unit", unit: "millisecond", maximumFractionDigits: ms < 10 ? 1 : 0 }).format(ms);
}

// Moments (when a task ran, a workbook changed) are shown in the time zone of the person's
// profile (/me), or the browser's until it is known; the data's own days stay UTC (below).
let dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
let dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });

/** Show moments in this IANA time zone (null: the browser's). An unknown zone changes nothing. */
let displayZone: string | null = null;

export function setDisplayTimeZone(timeZone: string | null): void {
  if (timeZone === displayZone) return;
  try {
    const zone = timeZone ?? undefined;
    dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium", timeZone: zone });
    dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeZone: zone });
    displayZone = timeZone;
  } catch {
    /* a zone this browser does not know: keep the current one */
  }
}
const dateOnlyUtc = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeZone: "UTC" });

function toDate(value: string | Date | null | undefined): Date | null {
  if (value === null || value === undefined || value === "") return null;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

export function formatDateTime(value: string | Date | null | undefined): string {
  const date = toDate(value);
  return date ? dateTime.format(date) : DASH;
}

export function formatDate(value: string | Date | null | undefined): string {
  const date = toDate(value);
  return date ? dateOnly.format(date) : DASH;
}

/** A calendar day of the data (sales dates are UTC days, whatever the browser's zone). */
export function formatDay(value: string | Date | null | undefined): string {
  const date = toDate(value);
  return date ? dateOnlyUtc.format(date) : DASH;
}

/** The trend's period label for its granularity, in UTC (the data's periods are UTC). */
export function formatPeriod(value: string, granularity: string): string {
  const date = toDate(value);
  if (!date) return DASH;
  const options: Intl.DateTimeFormatOptions = { timeZone: "UTC" };
  switch (granularity) {
    case "HOUR":
      Object.assign(options, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
      break;
    case "MONTH":
    case "QUARTER":
      Object.assign(options, { year: "numeric", month: "short" });
      break;
    case "YEAR":
      Object.assign(options, { year: "numeric" });
      break;
    default:
      Object.assign(options, { month: "short", day: "numeric" });
  }
  if (granularity === "QUARTER") {
    return `Q${Math.floor(date.getUTCMonth() / 3) + 1} ${date.getUTCFullYear()}`;
  }
  return new Intl.DateTimeFormat(undefined, options).format(date);
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

export function formatAgo(value: string | null | undefined, now = Date.now()): string {
  const date = toDate(value);
  if (!date) return DASH;
  const seconds = Math.round((date.getTime() - now) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 60) return relative.format(seconds, "second");
  if (abs < 3600) return relative.format(Math.round(seconds / 60), "minute");
  if (abs < 86400) return relative.format(Math.round(seconds / 3600), "hour");
  return relative.format(Math.round(seconds / 86400), "day");
}

const dayNames = (() => {
  const format = new Intl.DateTimeFormat(undefined, { weekday: "short", timeZone: "UTC" });
  // 2024-01-01 was a Monday: day 1 (Monday) ... 7 (Sunday), as salesHeatmap numbers them.
  return Array.from({ length: 7 }, (_, i) => format.format(new Date(Date.UTC(2024, 0, 1 + i))));
})();

export function weekdayName(dayOfWeek: number): string {
  return dayNames[dayOfWeek - 1] ?? String(dayOfWeek);
}

export function hourLabel(hour: number): string {
  return new Intl.DateTimeFormat(undefined, { hour: "numeric", timeZone: "UTC" }).format(
    new Date(Date.UTC(2024, 0, 1, hour)),
  );
}

/** The zone moments are shown in (the person's profile zone), or null while it is the browser's. */
export function displayTimeZone(): string | null {
  return displayZone;
}

/** A moment in a named IANA zone, with the zone said: "Mon, Dec 7, 08:00 (Europe/Berlin)" (a
 * schedule's next times, read in the schedule's own zone). An unknown zone shows the moment as
 * formatDateTime does. */
export function formatDateTimeIn(value: string | Date | null | undefined, timeZone: string): string {
  const date = toDate(value);
  if (!date) return DASH;
  try {
    const format = new Intl.DateTimeFormat(undefined, {
      weekday: "short",
      month: "short",
      day: "numeric",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
      timeZone,
    });
    return `${format.format(date)} (${timeZone})`;
  } catch {
    return formatDateTime(date);
  }
}
