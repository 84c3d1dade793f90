import { useState } from "react";
import { useNavigate } from "react-router";
import { useMutation } from "urql";

import type { DashboardFilters } from "../dashboard/filters";
import { fetchStarter } from "./api";
import { starterDocument } from "./builder";
import { DetailsDialog, type Details } from "./DetailsDialog";
import { documentFilters } from "./filters";
import { CreateWorkbookMutation } from "./queries";
import "./workbook.css";

/** The dashboard's "Save as workbook": its starter document with the filters of the URL. */
export function SaveDashboardButton({ filters }: { filters: DashboardFilters }) {
  const navigate = useNavigate();
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [, create] = useMutation(CreateWorkbookMutation);

  async function save(details: Details) {
    setBusy(true);
    setError(null);
    try {
      const starter = await fetchStarter(filters.datasource);
      const workbook = starterDocument(starter, filters.datasource, { ...details, filters: documentFilters(filters) });
      const result = await create({ workbook });
      if (result.error) throw result.error;
      if (result.data) void navigate(`/workbooks/${result.data.createWorkbook.id}`);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <button type="button" onClick={() => setOpen(true)}>
        Save as workbook
      </button>
      {open ? (
        <DetailsDialog
          open
          title="Save the dashboard as a workbook"
          submitLabel="Save workbook"
          fields="all"
          initial={{ title: "Sales dashboard", description: "", tags: [], visibility: "private", shared_with: [] }}
          busy={busy}
          error={error}
          onSubmit={(details) => void save(details)}
          onClose={() => {
            setOpen(false);
            setError(null);
          }}
        />
      ) : null}
    </>
  );
}
