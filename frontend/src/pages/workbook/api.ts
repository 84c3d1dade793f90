// REST paths of workbooks that openapi.json does not describe yet (the starter document, a copy,
// a widget's data as CSV), typed here by hand in one place; and the download of an export.
import { downloadFile, requestJson } from "../../api/rest";
import { ApiError } from "../../api/errors";
import type { WorkbookDocument } from "./types";

/** The default dashboard of a datasource as an unsaved workbook; null when the service lacks it. */
export async function fetchStarter(datasource: string): Promise<Partial<WorkbookDocument> | null> {
  try {
    return await requestJson<Partial<WorkbookDocument>>(
      `/api/workbooks/starter?datasource=${encodeURIComponent(datasource)}`,
    );
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 405)) return null;
    throw error;
  }
}

export interface CopiedWorkbook {
  id: string;
}

/** A copy of the saved workbook under a new title; null when the service lacks the path. */
export async function copyWorkbook(id: string, title: string): Promise<CopiedWorkbook | null> {
  try {
    return await requestJson<CopiedWorkbook>(`/api/workbooks/${encodeURIComponent(id)}/copy`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ title }),
    });
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 405)) return null;
    throw error;
  }
}

export function widgetCsvPath(id: string, index: number): string {
  return `/api/workbooks/${encodeURIComponent(id)}/widgets/${index}/data.csv`;
}

/** A widget's figures as a CSV file (the request carries the session's credentials). */
export function downloadWidgetCsv(id: string, index: number, title: string): Promise<void> {
  const name = (title || `widget-${index + 1}`).replace(/[^\w.-]+/g, "-").replace(/^-+|-+$/g, "") || "widget";
  return downloadFile(widgetCsvPath(id, index), `${name}.csv`);
}

/** The file name a Content-Disposition header gives (RFC 6266: `filename*` first, then
 * `filename`), without folder separators; `fallback` when it gives none. */
export function filenameFromDisposition(header: string | null, fallback: string): string {
  if (!header) return fallback;
  let name: string | null = null;
  const extended = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(header);
  if (extended?.[1]) {
    try {
      name = decodeURIComponent(extended[1].trim());
    } catch {
      name = null; // not percent-encoded as it should be: try the plain name
    }
  }
  if (!name)
    name = /filename\s*=\s*"([^"]*)"/i.exec(header)?.[1] ?? /filename\s*=\s*([^;]+)/i.exec(header)?.[1] ?? null;
  // eslint-disable-next-line no-control-regex
  const safe = (name ?? "").replace(/[\\/\u0000-\u001f]+/g, "-").trim();
  return safe || fallback;
}

export function exportPath(id: string): string {
  return `/api/workbooks/${encodeURIComponent(id)}/export`;
}

/** The workbook as the JSON document that imports on another installation, saved under the name
 * the server gives it (the request carries the session's credentials). */
export function downloadWorkbookExport(id: string): Promise<void> {
  return downloadFile(exportPath(id), (response) =>
    filenameFromDisposition(response.headers.get("Content-Disposition"), `workbook-${id}.json`),
  );
}
