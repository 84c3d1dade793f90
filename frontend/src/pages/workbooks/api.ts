// The import of a workbook export (POST /api/workbooks/import), typed from openapi.json.
import { requestJson } from "../../api/rest";
import type { operations } from "../../api/openapi";

type Import = operations["import_workbook_api_workbooks_import_post"];
/** What the import answers: the new private workbook and sentences on what it lacks here. */
export type Imported = Import["responses"][201]["content"]["application/json"];

/** Send the file as it is (the server reads at most its limit and says when it is larger). */
export function importWorkbook(file: Blob): Promise<Imported> {
  return requestJson<Imported>("/api/workbooks/import", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: file,
  });
}
