// Which files go in parts, and which open session a chosen file continues after a page reload.
// The browser keeps a small record of each session it opened (its file's name, size and
// modification time): a file chosen again continues the session of the same name and size whose
// record (when there is one) also has the same modification time. Pure functions, tested alone.
import { formatBytes, formatCount } from "../../format";
import type { UploadSession } from "./api";

const MB = 1024 * 1024;
/** Files larger than this go in parts through an upload session; smaller ones in one request. */
export const DEFAULT_PARTS_ABOVE_MB = 64;
const RECORDS_KEY = "sales-ingest.upload-sessions";
const MAX_RECORDS = 20;

/** The size above which a file is sent in parts: `?parts_above_mb=N` in the page's address
 * (for tests and for people who want parts sooner), else DEFAULT_PARTS_ABOVE_MB. */
export function partsAboveBytes(search: string): number {
  const asked = Number.parseFloat(new URLSearchParams(search).get("parts_above_mb") ?? "");
  const mb = Number.isFinite(asked) && asked >= 0 ? asked : DEFAULT_PARTS_ABOVE_MB;
  return Math.round(mb * MB);
}

export function usesParts(size: number, aboveBytes: number): boolean {
  return size > aboveBytes;
}

export interface ChosenFile {
  name: string;
  size: number;
  lastModified: number;
}

/** The upload options a session was opened with that the service's session does not echo. */
export interface RecordedOptions {
  on_invalid: "reject" | "skip";
  mode: "append" | "replace";
}

/** What this browser remembers of a session it opened. */
export interface SessionRecord {
  id: string;
  name: string;
  size: number;
  lastModified: number;
  options?: RecordedOptions;
}

/** The open session a chosen file continues, or null: the newest open session of the same file
 * name and size, unless this browser's record of it names another modification time (the file
 * changed since). */
export function matchSession(
  file: ChosenFile,
  sessions: readonly UploadSession[],
  records: readonly SessionRecord[],
): UploadSession | null {
  const byId = new Map(records.map((r) => [r.id, r]));
  const candidates = sessions
    .filter((s) => s.status === "open" && s.filename === file.name && s.size === file.size)
    .filter((s) => {
      const record = byId.get(s.id);
      return !record || record.lastModified === file.lastModified;
    })
    .sort((a, b) => b.created_at.localeCompare(a.created_at));
  return candidates[0] ?? null;
}

/** How much of a session the server has: parts and bytes. */
export function received(session: UploadSession): { parts: number; bytes: number } {
  const bytes = session.parts.reduce((sum, part) => sum + part.size, 0);
  return { parts: session.parts.length, bytes };
}

export function readRecords(storage: Storage | undefined = globalThis.localStorage): SessionRecord[] {
  try {
    const parsed: unknown = JSON.parse(storage?.getItem(RECORDS_KEY) ?? "[]");
    return Array.isArray(parsed) ? (parsed as SessionRecord[]) : [];
  } catch {
    return [];
  }
}

function writeRecords(records: SessionRecord[], storage: Storage | undefined): void {
  try {
    storage?.setItem(RECORDS_KEY, JSON.stringify(records.slice(-MAX_RECORDS)));
  } catch {
    /* storage full or refused: resuming then relies on the name and size alone */
  }
}

export function remember(record: SessionRecord, storage: Storage | undefined = globalThis.localStorage): void {
  writeRecords([...readRecords(storage).filter((r) => r.id !== record.id), record], storage);
}

export function forget(id: string, storage: Storage | undefined = globalThis.localStorage): void {
  writeRecords(
    readRecords(storage).filter((r) => r.id !== id),
    storage,
  );
}

export function recordOf(id: string, storage: Storage | undefined = globalThis.localStorage): SessionRecord | null {
  return readRecords(storage).find((r) => r.id === id) ?? null;
}

export const INVALID_WORDS = { reject: "reject the file", skip: "skip them, load the rest" } as const;
export const MODE_WORDS = { append: "append", replace: "replace the period it covers" } as const;

/** What a found session continues, in a sentence: its datasource and options, and how much of it
 * the server has. */
export function resumeWords(session: UploadSession, options: RecordedOptions | null): string {
  const has = received(session);
  const chosen = [`preview: ${session.dry_run ? "yes" : "no"}`];
  if (options) chosen.push(`invalid rows: ${INVALID_WORDS[options.on_invalid]}`, `mode: ${MODE_WORDS[options.mode]}`);
  return (
    `An unfinished upload of ${session.filename} to the datasource ${session.datasource_name} was found: ` +
    `${formatCount(has.parts, "part")} of ${formatCount(session.part_count, "part")} (${formatBytes(has.bytes)} of ` +
    `${formatBytes(session.size)}) ${has.parts === 1 ? "is" : "are"} already on the server. Resume upload continues ` +
    `the upload to ${session.datasource_name}, ${chosen.join(", ")}, and sends only the missing parts` +
    `${session.dry_run ? ", then shows its preview" : ""}. To change the datasource or the options, press Start ` +
    "over: it removes the parts sent and sends the whole file again."
  );
}

/** Bytes of the file sent, from a request's progress, which also counts the form around the file
 * (its field names and boundaries): the share sent, of the file's size. */
export function fileBytesSent(loaded: number, total: number, size: number): number {
  if (total <= 0) return Math.min(loaded, size);
  return Math.min(size, Math.round((loaded / total) * size));
}
