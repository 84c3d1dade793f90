// Which files go in parts, and which open session a chosen file continues after a page reload.
// The browser keeps a small record of each session it opened (its file's name, size and
// modification time): a file chosen again continues the session of the same name and size whose
// record (when there is one) also has the same modification time. Pure functions, tested alone.
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

/** What this browser remembers of a session it opened. */
export interface SessionRecord {
  id: string;
  name: string;
  size: number;
  lastModified: number;
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
