import { render, screen, within } from "@testing-library/react";
import { MemoryRouter } from "react-router";
import { Client, Provider } from "urql";
import { describe, expect, it } from "vitest";

import type { TaskFieldsFragment } from "../../gql/graphql";
import { withProgress } from "./queries";
import { TaskDetails } from "./TaskDetails";

// No exchange: the actions fire no request in this test (nothing is clicked).
const client = new Client({ url: "/graphql", exchanges: [] });

const task: TaskFieldsFragment = {
  taskId: "t1",
  status: "FAILED",
  datasource: "sales",
  filename: "bad.csv",
  fileFormat: "csv",
  sizeBytes: 683,
  progress: 0.05,
  rowsRead: 4,
  rowsValid: 2,
  rowsRejected: 2,
  attempts: 1,
  createdAt: "2026-11-23T21:57:29Z",
  startedAt: null,
  finishedAt: "2026-11-23T21:57:30Z",
  dataAsOf: null,
  rejectedRowsUrl: "/api/ingest/tasks/t1/rejected",
  druidTaskId: null,
  druidDatasource: null,
  druidReport: null,
  traceId: null,
  action: null,
  options: {},
  overrides: null,
  error: {
    code: "too_many_invalid",
    message: "2 of 4 rows are invalid",
    detail: "See the report.",
    plainDetail: "See the report.",
    remedies: [],
  },
  report: {
    format: "csv",
    rowLabel: "line",
    rowsRead: 4,
    rowsValid: 2,
    rowsRejected: 2,
    outcome: "failed",
    schemaProblems: { missing: [], extra: [], wrongType: [] },
    checks: [
      {
        column: "Rating",
        check: "in_range(0, 10)",
        message: "Rating must be between 0 and 10",
        failed: 1,
        truncated: false,
        samples: [{ row: 5, value: "15.5", message: null }],
      },
      {
        column: "Quantity",
        check: "type:integer",
        message: "Quantity must be a whole number",
        failed: 1,
        truncated: false,
        samples: [{ row: 3, value: "many", message: null }],
      },
    ],
  },
  events: [
    { at: "2026-11-23T21:57:29Z", status: "QUEUED", message: "upload received" },
    { at: "2026-11-23T21:57:30Z", status: "FAILED", message: "2 of 4 rows are invalid" },
  ],
};

describe("TaskDetails", () => {
  it("says the changes chosen on a preview, only when the task has some", () => {
    const changed = {
      ...task,
      overrides: { types: { store: "string" }, dateOrder: "day_first", rename: { product: "item" }, drop: ["units"] },
    };
    const { unmount } = render(
      <Provider value={client}>
        <MemoryRouter>
          <TaskDetails task={changed} onChanged={() => undefined} />
        </MemoryRouter>
      </Provider>,
    );
    expect(screen.getByText("Changes from the preview")).toBeVisible();
    expect(screen.getByTestId("task-overrides")).toHaveTextContent(
      "Types chosen: store as string. Dates were read day first (1/5/2024 is May 1). Renamed: product to item. " +
        "Left out: units (a column of the file not loaded).",
    );
    unmount();
    render(
      <Provider value={client}>
        <MemoryRouter>
          <TaskDetails task={task} onChanged={() => undefined} />
        </MemoryRouter>
      </Provider>,
    );
    expect(screen.queryByText("Changes from the preview")).toBeNull();
  });

  it("lists rejected values by line number with their reasons, and offers the rejected rows", () => {
    render(
      <Provider value={client}>
        <MemoryRouter>
          <TaskDetails task={task} onChanged={() => undefined} />
        </MemoryRouter>
      </Provider>,
    );
    const table = screen.getByRole("table", { name: /Rejected values/ });
    const rows = within(table).getAllByRole("row").slice(1);
    expect(rows.map((row) => within(row).getAllByRole("cell")[0]?.textContent)).toEqual(["3", "5"]);
    expect(rows[0]).toHaveTextContent("Quantity must be a whole number");
    expect(rows[1]).toHaveTextContent("Rating must be between 0 and 10");
    expect(screen.getByRole("link", { name: /rejected rows/ })).toHaveAttribute(
      "href",
      "/api/ingest/tasks/t1/rejected",
    );
    // invalid rows fail again however often the task runs: no Retry
    expect(screen.queryByRole("button", { name: "Retry" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Cancel" })).toBeNull();
    expect(screen.getByRole("alert")).toHaveTextContent("2 of 4 rows are invalid");
    expect(screen.queryByText("Trace")).toBeNull(); // traces off: nothing to look up
    // a failed task shows no progress bar: "5%" would read as if it were still going
    expect(screen.queryByRole("progressbar", { name: "Task progress" })).toBeNull();
  });

  it("shows the progress bar while the task runs", () => {
    const running = { ...task, status: "VALIDATING" as const, error: null };
    render(
      <Provider value={client}>
        <MemoryRouter>
          <TaskDetails task={running} onChanged={() => undefined} />
        </MemoryRouter>
      </Provider>,
    );
    expect(screen.getByRole("progressbar", { name: "Task progress" })).toHaveTextContent("5");
  });

  it("gives a derived column's reason with the value it should have, not the check's name", () => {
    const total = {
      column: "Total",
      check: "total_is_cogs_plus_tax",
      message: "Total must equal Quantity × Unit price + Tax 5%",
      failed: 1,
      truncated: false,
      samples: [
        {
          row: 7,
          value: "600.0",
          message: "Total should be 548.97 (Quantity × Unit price + Tax 5%); the file has 600.00",
        },
      ],
    };
    const derived = { ...task, report: { ...task.report!, checks: [total] } };
    render(
      <Provider value={client}>
        <MemoryRouter>
          <TaskDetails task={derived} onChanged={() => undefined} />
        </MemoryRouter>
      </Provider>,
    );
    const table = screen.getByRole("table", { name: /Rejected values/ });
    const row = within(table).getAllByRole("row")[1];
    expect(row).toHaveTextContent("Total should be 548.97 (Quantity × Unit price + Tax 5%); the file has 600.00");
    expect(table).not.toHaveTextContent("total_is_cogs_plus_tax");
  });

  it("offers a remedy as a button in the app's words, and says a failed task loaded nothing", () => {
    const skippable = {
      ...task,
      error: {
        code: "invalid_rows",
        message: "2 of 4 rows are invalid; nothing was loaded",
        detail:
          "Fix the rows listed in the report. To load the valid rows only, call reloadIngestionTask with onInvalid: SKIP.",
        plainDetail: "Fix the rows listed in the report.",
        remedies: [{ action: "skip_invalid", options: { on_invalid: "skip" } }],
      },
    };
    render(
      <Provider value={client}>
        <MemoryRouter>
          <TaskDetails task={skippable} onChanged={() => undefined} />
        </MemoryRouter>
      </Provider>,
    );
    const problem = screen.getByRole("alert");
    expect(within(problem).getByRole("button", { name: "Skip the invalid rows and load the rest" })).toBeEnabled();
    expect(problem).toHaveTextContent("Fix the rows listed in the report.");
    expect(problem).not.toHaveTextContent(/onInvalid|on_invalid|reloadIngestionTask/);
    expect(screen.getByText("Rows").nextElementSibling).toHaveTextContent("4 read, none loaded, 2 invalid");
    expect(screen.queryByRole("button", { name: "Retry" })).toBeNull();
  });

  it("offers Retry where running the task again may end otherwise (an outage)", () => {
    const outage = {
      ...task,
      error: {
        code: "disk_full",
        message: "the disk is full",
        detail: null,
        plainDetail: null,
        remedies: [{ action: "retry", options: {} }],
      },
    };
    render(
      <Provider value={client}>
        <MemoryRouter>
          <TaskDetails task={outage} onChanged={() => undefined} />
        </MemoryRouter>
      </Provider>,
    );
    expect(screen.getByRole("button", { name: "Retry" })).toBeInTheDocument();
  });

  it("gives the trace id to look the task up in a tracing tool", () => {
    const traced = { ...task, traceId: "4bf92f3577b34da6a3ce929d0e0e4736" };
    render(
      <Provider value={client}>
        <MemoryRouter>
          <TaskDetails task={traced} onChanged={() => undefined} />
        </MemoryRouter>
      </Provider>,
    );
    expect(screen.getByText("Trace").nextElementSibling).toHaveTextContent("4bf92f3577b34da6a3ce929d0e0e4736");
  });
});

describe("withProgress", () => {
  it("shows a running task's rows as the latest progress tick has them", () => {
    const running = { ...task, status: "VALIDATING" as const, progress: 0.1, rowsRead: 100 };
    const shown = withProgress(running, { progress: 0.4, rowsRead: 250_000, rowsValid: null, rowsRejected: 0 });
    expect([shown.progress, shown.rowsRead, shown.rowsValid, shown.rowsRejected]).toEqual([0.4, 250_000, 2, 0]);
  });

  it("never goes back to an older tick than the task as read", () => {
    const read = { ...task, progress: 0.7, rowsRead: 900 };
    expect(withProgress(read, { progress: 0.2, rowsRead: 10 })).toBe(read);
    expect(withProgress(read, null)).toBe(read);
  });
});
