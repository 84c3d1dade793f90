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

function Panel({ onConfirm }: { onConfirm: (o: Overrides, dryRun: boolean) => Promise<void> }) {
  const [edits, setEdits] = useState<Edits>(NO_EDITS);
  return <PreviewPanel preview={PREVIEW} edits={edits} onEdit={setEdits} onConfirm={onConfirm} />;
}

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
    expect(onConfirm).toHaveBeenNthCalledWith(1, sent, true);
    expect(onConfirm).toHaveBeenNthCalledWith(2, sent, false);
  });

  it("does not let the time column be dropped, and says why a choice cannot be sent", () => {
    render(<Panel onConfirm={() => Promise.resolve()} />);
    expect(screen.getByLabelText("Drop day")).toBeDisabled();

    fireEvent.change(screen.getByLabelText("New name of amount"), { target: { value: "store" } });

    expect(screen.getByRole("alert")).toHaveTextContent("Two columns would be named store: rename one of them.");
    expect(screen.getByRole("button", { name: "Load" })).toBeDisabled();
  });
});
