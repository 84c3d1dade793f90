import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";

import { ApiError } from "../api/errors";
import { Widget } from "./Widget";

describe("Widget", () => {
  it("shows loading until there is data", () => {
    render(<Widget title="Sales by city" fetching hasData={false} />);
    expect(screen.getByRole("status")).toHaveTextContent("Loading");
    expect(screen.getByRole("region", { name: "Sales by city" })).toHaveAttribute("data-state", "loading");
  });

  it("shows an empty state", () => {
    render(<Widget title="Trend" fetching={false} hasData empty emptyText="No sales in this selection." />);
    expect(screen.getByText("No sales in this selection.")).toBeInTheDocument();
  });

  it("says Nothing to show, with what to change, when the selection is empty", () => {
    render(
      <Widget title="Sales by branch" fetching={false} hasData empty figures={() => ({ columns: [], rows: [] })} />,
    );
    expect(screen.getByText("Nothing to show.")).toBeInTheDocument();
    expect(screen.getByText(/widen the date range or remove a filter/)).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /Download CSV/ })).toBeNull();
  });

  it("offers its rows and its figures as CSV when ready", async () => {
    const showRows = vi.fn();
    render(
      <Widget
        title="Sales by branch"
        fetching={false}
        hasData
        onShowRows={showRows}
        figures={() => ({ columns: [], rows: [] })}
      >
        <p>A</p>
      </Widget>,
    );
    expect(screen.getByRole("button", { name: "Download CSV of sales by branch" })).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Show rows of sales by branch" }));
    expect(showRows).toHaveBeenCalledOnce();
  });

  it("shows the error with its detail and a retry button", async () => {
    const retry = vi.fn();
    const error = new ApiError(409, "the datasource is busy", "Try again in a minute.", "conflict");
    render(<Widget title="Profitability" fetching={false} hasData={false} error={error} onRetry={retry} />);
    const alert = screen.getByRole("alert");
    expect(alert).toHaveTextContent("Profitability could not be loaded");
    expect(alert).toHaveTextContent("Try again in a minute.");
    await userEvent.click(screen.getByRole("button", { name: "Try again" }));
    expect(retry).toHaveBeenCalledOnce();
  });

  it("shows its content when ready", () => {
    render(
      <Widget title="Top product lines" fetching={false} hasData>
        <p>Health and beauty</p>
      </Widget>,
    );
    expect(screen.getByText("Health and beauty")).toBeInTheDocument();
  });
});
