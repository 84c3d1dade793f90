// REST paths of workbooks that openapi.json does not describe yet (the starter document, a copy,
// a widget's data as CSV), typed here by hand in one place.
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
