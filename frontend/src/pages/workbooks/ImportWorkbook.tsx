import { useId, useState, type ChangeEvent } from "react";
import { Link } from "react-router";

import { ApiError, describeError } from "../../api/errors";
import { ErrorMessage } from "../../components/ErrorMessage";
import { asSentence } from "../SignInPage";
import { importWorkbook, type Imported } from "./api";

const HINT = "Choose a JSON file that Export on a workbook downloaded.";

/** The server's refusal as sentences; its hint names an API path, so a person gets the app's. */
function readable(error: unknown): unknown {
  if (!(error instanceof ApiError)) return error;
  const problem = describeError(error);
  const detail = !problem.detail || problem.detail.includes("/api/") ? HINT : asSentence(problem.detail);
  return new ApiError(error.status, asSentence(problem.message), detail, error.code);
}

function Outcome({ imported }: { imported: Imported }) {
  const { workbook, warnings } = imported;
  return (
    <div className="import-outcome">
      <p>
        The workbook <Link to={`/workbooks/${encodeURIComponent(workbook.id)}`}>{workbook.title}</Link> is imported as a
        private workbook of yours.
      </p>
      {warnings.length > 0 ? (
        <ul aria-label="Warnings about the import">
          {warnings.map((warning) => (
            <li key={warning}>{asSentence(warning)}</li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

/** A file input that imports a workbook export as a private workbook, then links to it. */
export function ImportWorkbook({ onImported }: { onImported?: () => void }) {
  const id = useId();
  const [busy, setBusy] = useState(false);
  const [imported, setImported] = useState<Imported | null>(null);
  const [error, setError] = useState<unknown>(null);

  async function onFile(event: ChangeEvent<HTMLInputElement>) {
    const input = event.currentTarget;
    const file = input.files?.[0];
    if (!file) return;
    setBusy(true);
    setImported(null);
    setError(null);
    try {
      setImported(await importWorkbook(file));
      onImported?.();
    } catch (caught) {
      setError(readable(caught));
    } finally {
      setBusy(false);
      input.value = ""; // the same file can be chosen again
    }
  }

  return (
    <details className="data-details import-workbook">
      <summary>Import a workbook</summary>
      <p id={`${id}-help`}>
        Choose a file that Export on a workbook downloaded, from this installation or another. It becomes a private
        workbook of yours.
      </p>
      <div className="field">
        <label htmlFor={`${id}-file`}>Workbook file (JSON)</label>
        <input
          id={`${id}-file`}
          type="file"
          accept=".json,application/json"
          aria-describedby={`${id}-help`}
          disabled={busy}
          onChange={(event) => void onFile(event)}
        />
      </div>
      <div role="status">
        {busy ? <p>Importing the workbook…</p> : null}
        {imported ? <Outcome imported={imported} /> : null}
      </div>
      {error ? <ErrorMessage error={error} what="The workbook could not be imported" /> : null}
    </details>
  );
}
