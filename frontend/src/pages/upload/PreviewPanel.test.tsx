import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { useState } from "react";
import { describe, expect, it, vi } from "vitest";

import type { Overrides, Preview } from "./api";
import { NO_EDITS, type Edits } from "./overrides";
import { PreviewPanel } from "./PreviewPanel";

function column(name: string, type: string) {
  return { name, source_name: name, type, nullable: false, samples: ["x"], distinct_estimate: 3, rule: null };
}

const PREVIEW: Preview = {
  columns: [column("day", "date"), column("store", "integer"), column("amount", "float")],
  rows: [["2024-01-02", "7", "1.5"]],
  time_column: "day",
  date_order: "month_first",
  rows_total: 1,
  overrides: null,
};

function Panel({
  onConfirm,
  ...more
}: { onConfirm: (o: Overrides, dryRun: boolean, datasource: string) => Promise<void> } & Partial<
  Parameters<typeof PreviewPanel>[0]
>) {
  const [edits, setEdits] = useState<Edits>(NO_EDITS);
  return <PreviewPanel preview={PREVIEW} edits={edits} onEdit={setEdits} onConfirm={onConfirm} {...more} />;
}

const SALES_WHY = "This datasource follows the sales contract: only the date order can change.";

describe("PreviewPanel", () => {
  it("sends the type and date order chosen with Load, and Preview again as a dry run", async () => {
    const onConfirm = vi.fn(() => Promise.resolve());
    render(<Panel onConfirm={onConfirm} />);
    expect(screen.getByText("1 row was read and checked", { exact: false })).toBeVisible();
    expect(screen.getByLabelText("Type of store")).toHaveValue("integer");

    fireEvent.change(screen.getByLabelText("Type of store"), { target: { value: "string" } });
    fireEvent.change(screen.getByLabelText("Date order"), { target: { value: "day_first" } });
    fireEvent.click(screen.getByRole("button", { name: "Preview again" }));
    await waitFor(() => expect(screen.getByRole("button", { name: "Load" })).toBeEnabled());
    fireEvent.click(screen.getByRole("button", { name: "Load" }));

    const sent = { types: { store: "string" }, date_order: "day_first", rename: {}, drop: [] };
    expect(onConfirm).toHaveBeenNthCalledWith(1, sent, true, "");
    expect(onConfirm).toHaveBeenNthCalledWith(2, sent, false, "");
  });

  it("does not let the time column be dropped, and says why a choice cannot be sent", () => {
    render(<Panel onConfirm={() => Promise.resolve()} />);
    expect(screen.getByLabelText("Drop day")).toBeDisabled();

    fireEvent.change(screen.getByLabelText("New name of amount"), { target: { value: "store" } });

    expect(screen.getByRole("alert")).toHaveTextContent("Two columns would be named store: rename one of them.");
    expect(screen.getByRole("button", { name: "Load" })).toBeDisabled();
  });

  it("offers no type on a fixed schema, says why, and offers them again for a new datasource", async () => {
    const onConfirm = vi.fn(() => Promise.resolve());
    const fixed = { ...PREVIEW, schema_fixed: true, schema_fixed_why: SALES_WHY };
    render(<Panel onConfirm={onConfirm} preview={fixed} datasource="sales" existing={["sales"]} />);
    const type = screen.getByLabelText("Type of store");
    expect(type).toBeDisabled();
    expect(type).toHaveAccessibleDescription(`${SALES_WHY} The types are shown as the datasource has them.`);
    expect(screen.getByLabelText("Load into")).toHaveValue("sales");

    fireEvent.change(screen.getByLabelText("Load into"), { target: { value: "sales copy" } });
    expect(screen.getByRole("button", { name: "Load" })).toBeDisabled(); // checked as on the Upload page
    expect(screen.getByLabelText("Load into")).toHaveAccessibleDescription(
      "A datasource name has only letters, digits and underscores: a space is not allowed.",
    );
    fireEvent.change(screen.getByLabelText("Load into"), { target: { value: "sales_copy" } });
    expect(screen.getByLabelText("Type of store")).toBeEnabled();
    expect(screen.queryByTestId("types-fixed")).toBeNull();
    fireEvent.change(screen.getByLabelText("Type of store"), { target: { value: "string" } });
    fireEvent.click(screen.getByRole("button", { name: "Load" }));

    const sent = { types: { store: "string" }, date_order: null, rename: {}, drop: [] };
    expect(onConfirm).toHaveBeenCalledWith(sent, false, "sales_copy");
  });

  it("keeps listing a column dropped before Preview again, struck through, with Keep", () => {
    const onConfirm = vi.fn(() => Promise.resolve());
    const shown = { ...PREVIEW, columns: PREVIEW.columns.slice(0, 2), rows: [["2024-01-02", "7"]] };
    function Dropped() {
      const [edits, setEdits] = useState<Edits>({ ...NO_EDITS, drop: ["amount"] });
      return (
        <PreviewPanel
          preview={shown}
          edits={edits}
          onEdit={setEdits}
          onConfirm={onConfirm}
          dropped={[PREVIEW.columns[2]!]}
        />
      );
    }
    render(<Dropped />);
    const row = screen.getByRole("row", { name: /amount/ });
    expect(row).toHaveTextContent("amount (dropped)");
    expect(row.querySelector("s")).toHaveTextContent("amount");

    fireEvent.click(screen.getByRole("button", { name: "Keep amount" }));
    expect(screen.getByRole("row", { name: /amount/ })).not.toHaveTextContent("(dropped)");
    expect(screen.getByLabelText("Drop amount")).not.toBeChecked();
    fireEvent.click(screen.getByRole("button", { name: "Load" }));
    expect(onConfirm).toHaveBeenCalledWith({ types: {}, date_order: null, rename: {}, drop: [] }, false, "");
  });

  it("shows why a Load was refused beside its button, with the choices kept", () => {
    render(<Panel onConfirm={() => Promise.resolve()} refused="Load was refused: the file has no rows." />);
    expect(screen.getByTestId("preview-refused")).toHaveTextContent("Load was refused: the file has no rows.");
    expect(screen.getByRole("button", { name: "Load" })).toBeEnabled();
  });
});
