// REST calls with the browser's credentials (auth.ts: a bearer token, or the session cookie with
// the CSRF token on writes): JSON requests, the upload (XMLHttpRequest, for its upload
// progress events) and downloads of protected files (a plain link would not send a token). Their
// types come from the service's OpenAPI document (openapi.json -> openapi.ts, `npm run codegen`).
import { authHeaders, CREDENTIALS, requireSignIn } from "./auth";
import { ApiError, apiErrorFromBody } from "./errors";
import type { operations } from "./openapi";

async function parseBody(response: Response): Promise<unknown> {
  const body = await response.text();
  if (!body) return null;
  try {
    return JSON.parse(body);
  } catch {
    return { error: body.slice(0, 300) };
  }
}

function failed(status: number, statusText: string, body: unknown, retryAfter?: string): ApiError {
  const error = apiErrorFromBody(status, statusText, body, retryAfter);
  if (status === 401) requireSignIn(error.message);
  return error;
}

export async function requestJson<T>(path: string, init: RequestInit = {}): Promise<T> {
  const headers = new Headers(init.headers);
  for (const [name, value] of Object.entries(authHeaders(init.method ?? "GET"))) headers.set(name, value);
  headers.set("Accept", "application/json");
  const response = await fetch(path, { ...init, headers, credentials: CREDENTIALS });
  const body = await parseBody(response);
  if (!response.ok) {
    throw failed(response.status, response.statusText, body, response.headers.get("Retry-After") ?? undefined);
  }
  return body as T;
}

type Upload = operations["upload_api_ingest_upload_post"];
/** The upload's form fields, as the OpenAPI document names and types them. */
type UploadForm = Upload["requestBody"]["content"]["multipart/form-data"];

/** What POST /api/ingest/upload answers (202 new task, 200 duplicate). */
export type UploadAccepted =
  Upload["responses"][202]["content"]["application/json"] | Upload["responses"][200]["content"]["application/json"];

export interface UploadOptions {
  file: File;
  datasource: UploadForm["datasource_name"];
  onInvalid: NonNullable<UploadForm["on_invalid"]>;
  mode: NonNullable<UploadForm["mode"]>;
  force?: UploadForm["force"];
  /** A preview: the file is read and checked, nothing is loaded (the form's dry_run). */
  dryRun?: boolean;
}

export interface UploadHandle {
  promise: Promise<UploadAccepted>;
  abort: () => void;
}

export function uploadFile(options: UploadOptions, onProgress: (sent: number, total: number) => void): UploadHandle {
  const form = new FormData();
  const field = (name: keyof UploadForm, value: string) => form.append(name, value);
  field("datasource_name", options.datasource);
  field("on_invalid", options.onInvalid);
  field("mode", options.mode);
  if (options.force) field("force", "true");
  if (options.dryRun) form.append("dry_run", "true");
  form.append("file" satisfies keyof UploadForm, options.file, options.file.name);
  const xhr = new XMLHttpRequest();
  const promise = new Promise<UploadAccepted>((resolve, reject) => {
    xhr.open("POST", "/api/ingest/upload");
    xhr.setRequestHeader("Accept", "application/json");
    // same origin: the browser sends the session cookie with it (withCredentials is for other sites)
    for (const [name, value] of Object.entries(authHeaders("POST"))) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => {
      onProgress(event.loaded, event.lengthComputable ? event.total : options.file.size);
    };
    xhr.onload = () => {
      let body: unknown;
      try {
        body = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        body = { error: xhr.responseText.slice(0, 300) };
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body as UploadAccepted);
      else reject(failed(xhr.status, xhr.statusText, body));
    };
    xhr.onerror = () =>
      reject(new ApiError(0, "The upload could not reach the server", "Check the connection and try again."));
    xhr.onabort = () => reject(new ApiError(0, "The upload was stopped"));
    xhr.send(form);
  });
  return { promise, abort: () => xhr.abort() };
}

/** Download a file the API protects, then hand it to the browser as a download; `filename` may
 * read it from the answer (its Content-Disposition). */
export async function downloadFile(url: string, filename: string | ((response: Response) => string)): Promise<void> {
  const response = await fetch(url, { headers: authHeaders("GET"), credentials: CREDENTIALS });
  if (!response.ok) throw failed(response.status, response.statusText, await parseBody(response));
  const blob = await response.blob();
  const objectUrl = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = objectUrl;
  link.download = typeof filename === "string" ? filename : filename(response);
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(objectUrl), 1000);
}
