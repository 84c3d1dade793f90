import { useState } from "react";

import { downloadWorkbookExport } from "./api";

interface Props {
  workbookId: string;
  /** Called with null when an export starts, then with what went wrong, if anything. */
  onError: (error: unknown) => void;
}

/** Downloads the saved workbook as a JSON document that imports on another installation. */
export function ExportButton({ workbookId, onError }: Props) {
  const [busy, setBusy] = useState(false);
  async function run() {
    setBusy(true);
    onError(null);
    try {
      await downloadWorkbookExport(workbookId);
    } catch (error) {
      onError(error);
    } finally {
      setBusy(false);
    }
  }
  return (
    <button
      type="button"
      disabled={busy}
      onClick={() => void run()}
      title="Download this workbook as a JSON file that imports on another installation."
    >
      Export
    </button>
  );
}
