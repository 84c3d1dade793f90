// An action's form as plain values: its defaults per kind, what it sends (the API's params, in
// the REST names of backend/actions/schemas.py), what is wrong with it as you type, and where
// the server's sentences go when it refuses it.

import { displayTimeZone } from "../../format";

type Json = Record<string, unknown>;

export const KINDS = ["import", "webhook", "alert", "report"] as const;
export type Kind = (typeof KINDS)[number];

export const KIND_LABELS: Record<Kind, string> = {
  import: "Import a file",
  webhook: "Webhook",
  alert: "Alert",
  report: "Report",
};

export const EVENTS = ["task.succeeded", "task.failed", "datasource.schema_changed", "druid.loaded"] as const;

export const EVENT_LABELS: Record<string, string> = {
  "task.succeeded": "a task succeeds",
  "task.failed": "a task fails",
  "datasource.schema_changed": "a datasource's schema changes",
  "druid.loaded": "Druid has loaded a datasource",
};

export const AGGREGATES = ["sum", "avg", "count", "count_distinct", "min", "max"] as const;

/** A measure's aggregate in words, as the form's choices read. */
export const AGGREGATE_LABELS: Record<string, string> = {
  sum: "Sum of",
  avg: "Average of",
  count: "Count of rows",
  count_distinct: "Number of distinct",
  min: "Smallest value of",
  max: "Largest value of",
};

export const WINDOWS: Record<string, string> = {
  yesterday: "Yesterday",
  "last-7-days": "Last 7 days",
  "last-30-days": "Last 30 days",
  "last-90-days": "Last 90 days",
  "this-month": "This month",
  "previous-month": "Previous month",
  "this-quarter": "This quarter",
  "previous-quarter": "Previous quarter",
  "year-to-date": "Year to date",
  "previous-year": "Previous year",
};

export const MAX_TRIGGERS = 10;

export interface TriggerDraft {
  type: "manual" | "schedule" | "event";
  cron: string;
  timezone: string;
  event: string;
  datasource: string;
}

export interface Draft {
  name: string;
  kind: Kind;
  enabled: boolean;
  /** import: from a web address or from S3 */
  source: "url" | "s3";
  /** import's, webhook's, or the optional one of an alert or a report */
  url: string;
  s3Uri: string;
  datasource: string;
  mode: "append" | "replace";
  onInvalid: "reject" | "skip";
  headerName: string;
  /** Write-only: empty keeps the stored value when `headerSet`. */
  headerValue: string;
  headerSet: boolean;
  aggregate: string;
  column: string;
  window: string;
  op: "above" | "below" | "change_pct";
  value: string;
  timezone: string;
  workbookId: string;
  /** e-mail addresses, separated by commas, semicolons or new lines */
  to: string;
  triggers: TriggerDraft[];
  /** The saved action's params as they came: what the form does not show is sent back as it was. */
  saved: Json;
}

/** The zone a new schedule or alert starts in: the person's profile zone when known, else the
 * browser's. */
export function defaultZone(): string {
  return displayTimeZone() ?? browserZone();
}

export function browserZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

export function newTrigger(type: TriggerDraft["type"] = "manual"): TriggerDraft {
  return {
    type,
    cron: type === "schedule" ? "0 8 * * *" : "",
    timezone: defaultZone(),
    event: "task.failed",
    datasource: "",
  };
}

export function emptyDraft(kind: Kind = "webhook"): Draft {
  return {
    name: "",
    kind,
    enabled: true,
    source: "url",
    url: "",
    s3Uri: "",
    datasource: "sales",
    mode: "append",
    onInvalid: "reject",
    headerName: "",
    headerValue: "",
    headerSet: false,
    aggregate: "sum",
    column: "",
    window: "yesterday",
    op: "below",
    value: "",
    timezone: defaultZone(),
    workbookId: "",
    to: "",
    triggers: [newTrigger("manual")],
    saved: {},
  };
}

function str(value: unknown): string {
  return typeof value === "string" ? value : typeof value === "number" ? String(value) : "";
}

function obj(value: unknown): Json {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Json) : {};
}

export interface ActionLike {
  name: string;
  kind: string;
  enabled: boolean;
  params: unknown;
  triggers: {
    type: string;
    cron?: string | null;
    timezone?: string | null;
    event?: string | null;
    datasource?: string | null;
  }[];
}

/** The form filled with a saved action (its header's value is never sent back: "set"). */
export function draftOf(action: ActionLike): Draft {
  const kind = (KINDS as readonly string[]).includes(action.kind) ? (action.kind as Kind) : "webhook";
  const p = obj(action.params);
  const measure = obj(p.measure);
  const condition = obj(p.condition);
  const header = obj(p.header);
  const base = emptyDraft(kind);
  return {
    ...base,
    name: action.name,
    enabled: action.enabled,
    source: p.s3_uri ? "s3" : "url",
    url: str(p.url),
    s3Uri: str(p.s3_uri),
    datasource: str(p.datasource) || base.datasource,
    mode: p.mode === "replace" ? "replace" : "append",
    onInvalid: p.on_invalid === "skip" ? "skip" : "reject",
    headerName: str(header.name),
    headerSet: header.set === true,
    aggregate: str(measure.aggregate) || base.aggregate,
    column: str(measure.column),
    window: str(p.window) || base.window,
    op: condition.op === "above" || condition.op === "change_pct" ? condition.op : "below",
    value: str(condition.value),
    timezone: str(p.timezone) || base.timezone,
    workbookId: str(p.workbook_id),
    to: Array.isArray(p.to) ? p.to.map(str).join(", ") : "",
    saved: p,
    triggers: action.triggers.map((t) => ({
      type: t.type === "schedule" || t.type === "event" ? t.type : "manual",
      cron: t.cron ?? "",
      timezone: t.timezone ?? defaultZone(),
      event: t.event ?? "task.failed",
      datasource: t.datasource ?? "",
    })),
  };
}

export function addresses(to: string): string[] {
  return to
    .split(/[,;\n]/)
    .map((a) => a.trim())
    .filter(Boolean);
}

/** The params each kind's form shows (and so may change or remove); any other key of the saved
 * action (a report's subject and filters, an import's sheet...) is sent back as it was. An
 * import's header is sent only when a new value is typed (the server keeps the stored one). */
const SHOWN: Record<Kind, string[]> = {
  import: ["url", "s3_uri", "datasource", "mode", "on_invalid", "header"],
  webhook: ["url"],
  alert: ["datasource", "measure", "window", "condition", "timezone", "url"],
  report: ["workbook_id", "to", "url"],
};

/** The kind's params, as the API takes them: the saved action's, with the form's fields over them. */
export function paramsOf(d: Draft): Json {
  const kept = Object.fromEntries(Object.entries(d.saved).filter(([key]) => !SHOWN[d.kind].includes(key)));
  const shown = shownParams(d);
  if (d.kind === "alert") {
    // The measure's and condition's own keys the form lacks stay too.
    const measure = { ...obj(d.saved.measure), ...obj(shown.measure) };
    if (!obj(shown.measure).column) delete measure.column;
    shown.measure = measure;
    shown.condition = { ...obj(d.saved.condition), ...obj(shown.condition) };
  }
  return { ...kept, ...shown };
}

function shownParams(d: Draft): Json {
  const url = d.url.trim();
  switch (d.kind) {
    case "import": {
      const params: Json = { datasource: d.datasource.trim(), mode: d.mode, on_invalid: d.onInvalid };
      if (d.source === "s3") params.s3_uri = d.s3Uri.trim();
      else params.url = url;
      if (d.source === "url" && d.headerName.trim() && d.headerValue) {
        params.header = { name: d.headerName.trim(), value: d.headerValue };
      }
      return params;
    }
    case "webhook":
      return { url };
    case "alert": {
      const measure: Json = { aggregate: d.aggregate };
      if (d.column.trim()) measure.column = d.column.trim();
      const params: Json = {
        datasource: d.datasource.trim(),
        measure,
        window: d.window,
        condition: { op: d.op, value: Number(d.value) },
        timezone: d.timezone.trim() || "UTC",
      };
      if (url) params.url = url;
      return params;
    }
    case "report": {
      const params: Json = { workbook_id: d.workbookId, to: addresses(d.to) };
      if (url) params.url = url;
      return params;
    }
  }
}

/** A trigger as the API takes it. */
export interface TriggerOut {
  type: string;
  cron?: string;
  timezone?: string;
  event?: string;
  datasource?: string;
}

export function triggersOf(d: Draft): TriggerOut[] {
  return d.triggers.map((t): TriggerOut => {
    if (t.type === "schedule") return { type: "schedule", cron: t.cron.trim(), timezone: t.timezone.trim() || "UTC" };
    if (t.type === "event") {
      return t.datasource.trim()
        ? { type: "event", event: t.event, datasource: t.datasource.trim() }
        : { type: "event", event: t.event };
    }
    return { type: "manual" };
  });
}

export type Problems = Record<string, string>;

const DATASOURCE = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const EMAIL = /^[^@\s,;<>"]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;
const HEADER = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/;
const S3 = /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/;

/** What is wrong with a web address, as the server would say it (null: nothing). */
export function urlProblem(value: string): string | null {
  if (!/^https?:\/\/[^\s/?#@]+/i.test(value) || /\s/.test(value)) {
    return "Give an http:// or https:// address, such as https://example.com/hook.";
  }
  if ((value.split("/", 4)[2] ?? "").includes("@")) {
    return "Put credentials in a header, not in the address (user:password@).";
  }
  return null;
}

function datasourceProblem(value: string): string | null {
  if (!value.trim()) return "Name the datasource, such as sales.";
  return DATASOURCE.test(value.trim())
    ? null
    : "A datasource name starts with a letter and has only letters, digits and _ (64 at most).";
}

function kindProblems(d: Draft, out: Problems): void {
  const url = d.url.trim();
  const needsUrl = d.kind === "webhook" || (d.kind === "import" && d.source === "url");
  if (needsUrl && !url) out.url = "Give the address to call, such as https://example.com/hook.";
  else if (url && (needsUrl || d.kind === "alert" || d.kind === "report")) {
    const problem = urlProblem(url);
    if (problem) out.url = problem;
  }
  if (d.kind === "import" || d.kind === "alert") {
    const problem = datasourceProblem(d.datasource);
    if (problem) out.datasource = problem;
  }
  if (d.kind === "import" && d.source === "s3" && !S3.test(d.s3Uri.trim())) {
    out.s3Uri = "Give an S3 address as s3://bucket/key or s3://bucket/prefix/.";
  }
  if (d.kind === "import" && d.source === "url") {
    if (d.headerName.trim() && !HEADER.test(d.headerName.trim())) {
      out.headerName = "A header name has letters, digits and - only, such as Authorization.";
    }
    if (d.headerValue && !d.headerName.trim()) out.headerName = "Name the header its value goes with.";
    if (d.headerName.trim() && !d.headerValue && !d.headerSet) out.headerValue = "Give the header's value.";
    if (/[\r\n]/.test(d.headerValue)) out.headerValue = "A header's value is one line.";
  }
  if (d.kind === "alert") {
    if (d.aggregate !== "count" && !d.column.trim()) out.column = "Name the column to measure, such as total.";
    if (!d.value.trim() || !Number.isFinite(Number(d.value))) out.value = "Give a number, such as 1000.";
  }
  if (d.kind === "report") {
    if (!d.workbookId) out.workbookId = "Choose the workbook to send.";
    const bad = addresses(d.to).find((a) => !EMAIL.test(a));
    if (bad) out.to = `${bad} is not an e-mail address such as ana@example.com.`;
    else if (!addresses(d.to).length && !url) out.to = "Give e-mail addresses, a web address, or both.";
  }
}

/** What the form says under each field as you type (keys: the field names of Draft, and
 * `trigger.<i>.cron` / `trigger.<i>.datasource`). A schedule's own sentence comes from the
 * server (describeSchedule). */
export function problemsOf(d: Draft): Problems {
  const out: Problems = {};
  if (!d.name.trim()) out.name = "Give the action a name.";
  else if (d.name.length > 200) out.name = "A name has 200 characters at most.";
  kindProblems(d, out);
  if (!d.triggers.length) out.triggers = "Add a trigger: by hand, on a schedule or on an event.";
  d.triggers.forEach((t, i) => {
    if (t.type === "schedule" && !t.cron.trim())
      out[`trigger.${i}.cron`] = "Give a cron expression, such as 0 8 * * *.";
    if (t.type === "event" && t.datasource.trim()) {
      const problem = datasourceProblem(t.datasource);
      if (problem) out[`trigger.${i}.datasource`] = problem;
    }
  });
  return out;
}

const FIELDS: [RegExp, string][] = [
  [/^params\.url$/, "url"],
  [/^params\.s3_uri$/, "s3Uri"],
  [/^params\.datasource$/, "datasource"],
  [/^params\.header\.name$/, "headerName"],
  [/^params\.header(\.value)?$/, "headerValue"],
  [/^params\.measure(\.|$)/, "column"],
  [/^params\.condition(\.|$)/, "value"],
  [/^params\.window$/, "window"],
  [/^params\.timezone$/, "timezone"],
  [/^params\.to(\.|$)/, "to"],
  [/^params\.workbook_id$/, "workbookId"],
  [/^name$/, "name"],
];

function fieldOf(path: string): string | null {
  const trigger = /^triggers\.(\d+)(.*)$/.exec(path);
  if (trigger) {
    const where = trigger[2] ?? "";
    if (where.includes("datasource")) return `trigger.${trigger[1]}.datasource`;
    return where.includes("timezone") ? `trigger.${trigger[1]}.timezone` : `trigger.${trigger[1]}.cron`;
  }
  if (/^triggers$/.test(path)) return "triggers";
  return FIELDS.find(([pattern]) => pattern.test(path))?.[1] ?? null;
}

/** The server's sentences, each under the field it names ("The action is not valid. input:
 * params.url: Give an http://... triggers.0.schedule.cron: Bad minute."), from its message and
 * detail; when none names a field, the whole message stays in `rest`. */
export function serverProblems(message: string, detail?: string): { fields: Problems; rest: string[] } {
  const fields: Problems = {};
  const text = [message, detail ?? ""].join("; ");
  const paths = [...text.matchAll(/(?<![\w.])((?:params|triggers)(?:\.\w+)*|name)\s*:\s*/g)];
  paths.forEach((match, i) => {
    const start = match.index + match[0].length;
    const end = paths[i + 1]?.index ?? text.length;
    const sentence = (text.slice(start, end).split(";")[0] ?? "").replace(/^Value error,\s*/, "").trim();
    const field = fieldOf(match[1] ?? "");
    if (field && sentence && !fields[field]) fields[field] = sentence;
  });
  const rest = Object.keys(fields).length ? [] : [message, detail].filter((s): s is string => Boolean(s));
  return { fields, rest };
}

const CONDITIONS: Record<string, string> = { above: "above", below: "below", change_pct: "changes by more than" };

/** What an action does, in one sentence (an import's header value shows as "set", never itself). */
export function summaryOf(kind: string, params: unknown, workbookTitle?: string): string {
  const p = obj(params);
  const url = str(p.url);
  switch (kind) {
    case "import": {
      const header = obj(p.header);
      const from = str(p.s3_uri) || url;
      const withHeader = header.name ? `, with the header ${str(header.name)} (${header.set ? "set" : "not set"})` : "";
      return `Imports ${from} into ${str(p.datasource)} (${str(p.mode) || "append"})${withHeader}.`;
    }
    case "webhook":
      return `POSTs a signed event to ${url}.`;
    case "alert": {
      const measure = obj(p.measure);
      const condition = obj(p.condition);
      const aggregate = str(measure.aggregate);
      const words = (AGGREGATE_LABELS[aggregate] ?? aggregate.replace("_", " ")).toLowerCase();
      const what = measure.column && aggregate !== "count" ? `${words} ${str(measure.column)}` : words;
      const window = (WINDOWS[str(p.window)] ?? str(p.window)).toLowerCase();
      const op = CONDITIONS[str(condition.op)] ?? str(condition.op);
      const percent = condition.op === "change_pct" ? " %" : "";
      return `Fires when the ${what} of ${str(p.datasource)}, ${window}, is ${op} ${str(condition.value)}${percent}${url ? `; POSTs to ${url}` : ""}.`.replace(
        "is changes",
        "changes",
      );
    }
    case "report": {
      const to = Array.isArray(p.to) ? p.to.map(str).filter(Boolean) : [];
      const where = [to.length ? `to ${to.join(", ")}` : "", url ? `to ${url}` : ""].filter(Boolean).join(" and ");
      if (workbookTitle) return `Sends the data of the workbook “${workbookTitle}” as CSV ${where}.`;
      return `Sends a workbook's data as CSV ${where}.`;
    }
    default:
      return "";
  }
}
