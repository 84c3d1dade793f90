// The REST calls of the Upload page beyond the single-request upload: the upload sessions
// (/api/uploads: a large file sent in parts, resumable) and a preview's confirmation
// (/api/ingest/tasks/{id}/confirm). Their shapes follow the service's session and preview API;
// they are written here until the committed OpenAPI document (openapi.json -> openapi.ts) has them.
// These calls are sent again after the time an answer's Retry-After says (retryAfter.ts).
import { requestJson, type UploadAccepted } from "../../api/rest";
import { apiWait, withRetryAfter } from "./retryAfter";

export type SessionStatus = "open" | "completing" | "completed" | "aborted" | "expired";

export interface SessionPart {
  number: number;
  size: number;
  etag: string;
}

export interface UploadSession {
  id: string;
  status: SessionStatus;
  filename: string;
  size: number;
  sha256: string | null;
  datasource_name: string;
  dry_run: boolean;
  part_size: number;
  part_count: number;
  storage: "s3" | "local";
  expires_at: string;
  created_at: string;
  parts: SessionPart[];
  received_bytes: number;
  task_id: string | null;
  status_url: string | null;
}

export interface NewSession {
  filename: string;
  size: number;
  datasource_name: string;
  on_invalid: "reject" | "skip";
  mode: "append" | "replace";
  dry_run: boolean;
  force?: boolean;
}

export interface PartAddress {
  number: number;
  url: string;
  method: "PUT";
  headers: Record<string, string>;
  expires_at: string;
}

const JSON_HEADERS = { "Content-Type": "application/json" };

/** A call whose answer with Retry-After (a part being written, say) is asked again after it. */
function sessionJson<T>(path: string, init: RequestInit = {}): Promise<T> {
  return withRetryAfter(() => requestJson<T>(path, init), { waitOf: apiWait, signal: init.signal ?? undefined });
}

function post<T>(path: string, body: unknown, signal?: AbortSignal): Promise<T> {
  return sessionJson<T>(path, { method: "POST", headers: JSON_HEADERS, body: JSON.stringify(body), signal });
}

export function createSession(body: NewSession, signal?: AbortSignal): Promise<UploadSession> {
  return post<UploadSession>("/api/uploads", { ...body, sha256: null }, signal);
}

/** The caller's open sessions, newest first. */
export async function openSessions(signal?: AbortSignal): Promise<UploadSession[]> {
  const answer = await sessionJson<{ items: UploadSession[] }>("/api/uploads?status=open", { signal });
  return answer.items;
}

/** A session with the parts storage has. */
export function getSession(id: string, signal?: AbortSignal): Promise<UploadSession> {
  return sessionJson<UploadSession>(`/api/uploads/${encodeURIComponent(id)}`, { signal });
}

/** The address to PUT part `number` to; with its `sha256` (base64), the storage refuses bytes
 * that do not match it at once. */
export async function partAddress(
  id: string,
  number: number,
  sha256: string | null,
  signal?: AbortSignal,
): Promise<PartAddress> {
  const answer = await post<{ parts: PartAddress[] }>(
    `/api/uploads/${encodeURIComponent(id)}/parts`,
    { parts: [{ number, sha256 }] },
    signal,
  );
  const found = answer.parts.find((p) => p.number === number);
  if (!found) throw new Error(`The server gave no address for part ${number}; press Retry.`);
  return found;
}

export function completeSession(
  id: string,
  parts: { number: number; etag: string }[],
  signal?: AbortSignal,
): Promise<UploadAccepted> {
  return post<UploadAccepted>(`/api/uploads/${encodeURIComponent(id)}/complete`, { sha256: null, parts }, signal);
}

export async function abortSession(id: string): Promise<void> {
  await sessionJson<null>(`/api/uploads/${encodeURIComponent(id)}`, { method: "DELETE" });
}

/** ColumnType values the service knows. */
export const COLUMN_TYPES = ["string", "integer", "float", "boolean", "date", "time", "datetime"] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];
export type DateOrder = "month_first" | "day_first";

export interface PreviewColumn {
  name: string;
  source_name: string;
  type: string;
  nullable: boolean;
  samples: string[];
  distinct_estimate: number;
  rule: string | null;
}

export interface Preview {
  columns: PreviewColumn[];
  rows: (string | null)[][];
  time_column: string | null;
  date_order: DateOrder | null;
  rows_total: number;
  overrides: Record<string, unknown> | null;
  /** The datasource's column types are fixed (a contract, or its rows so far). */
  schema_fixed?: boolean;
  /** Why, in a sentence; null when they are not fixed. */
  schema_fixed_why?: string | null;
}

export interface Overrides {
  types: Record<string, string>;
  date_order: DateOrder | null;
  time_column?: string;
  rename: Record<string, string>;
  drop: string[];
}

interface TaskStatus {
  task_id: string;
  status: string;
  dry_run?: boolean;
  report?: { preview?: Preview | null } | null;
}

/** A finished dry run's preview (null when the task has none). */
export async function taskPreview(taskId: string): Promise<Preview | null> {
  const task = await requestJson<TaskStatus>(`/api/ingest/status/${encodeURIComponent(taskId)}`);
  return task.report?.preview ?? null;
}

export function confirmPreview(
  taskId: string,
  body: { overrides: Overrides; dry_run: boolean; datasource_name?: string },
): Promise<UploadAccepted> {
  return post<UploadAccepted>(`/api/ingest/tasks/${encodeURIComponent(taskId)}/confirm`, body);
}
