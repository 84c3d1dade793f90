import { useState } from "react";
import { useNavigate } from "react-router";
import { useMutation } from "urql";

import { DetailsDialog, type Details } from "../../workbook/DetailsDialog";
import { CreateWorkbookMutation } from "../../workbook/queries";
import "../../workbook/workbook.css";
import { pageWidgets, type PageShape } from "./workbook";

/** A new workbook holding the page's figures, opened once saved. */
export function MakeWorkbookButton({ shape }: { shape: PageShape }) {
  const navigate = useNavigate();
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [, create] = useMutation(CreateWorkbookMutation);

  async function save(details: Details) {
    setBusy(true);
    setError(null);
    try {
      const workbook = { ...details, datasource: shape.datasource, filters: {}, widgets: pageWidgets(shape) };
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
        Make a workbook from this
      </button>
      {open ? (
        <DetailsDialog
          open
          title="Make a workbook from this page"
          submitLabel="Save workbook"
          fields="all"
          initial={{
            title: `Figures of ${shape.datasource}`,
            description: "",
            tags: [],
            visibility: "private",
            shared_with: [],
          }}
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
