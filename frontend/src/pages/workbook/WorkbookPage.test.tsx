import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter, Route, Routes } from "react-router";
import { Client, Provider, fetchExchange } from "urql";
import { afterEach, describe, expect, it, onTestFinished, vi } from "vitest";

import { resetAuthForTests, signIn } from "../../api/auth";
import { fakeServer } from "../../test/fakeServer";
import { filenameFromDisposition } from "./api";
import { ConflictDialog } from "./ConflictDialog";
import WorkbookPage from "./WorkbookPage";

const workbook = {
  id: "wb1",
  title: "Branch review",
  description: "",
  datasource: "sales",
  filters: { branch: ["A"] },
  widgets: [
    {
      kind: "kpi",
      title: "Total sales",
      query: { datasource: "sales", measures: [{ aggregate: "sum", column: "Total" }] },
      size: { width: 6, height: 2 },
    },
    {
      kind: "table",
      title: "By city",
      query: { datasource: "sales", measures: [{ aggregate: "count" }], dimensions: ["City"] },
      size: { width: 6, height: 4 },
    },
  ],
  tags: ["review"],
  visibility: "shared",
  sharedWith: [],
  owner: "alice",
  version: 3,
  updatedAt: "2026-11-01T08:00:00Z",
  views: 4,
  favorites: 0,
  favorited: false,
};

const conflict = {
  message: "the workbook is at version 4, not 3; since then widgets changed",
  extensions: {
    code: "CONFLICT",
    detail: "Read it again, apply your edit to the current version and send that version.",
  },
};

/** A server answering each operation by its name; the variables of each are recorded. */
function clientFor(me: { name: string; role: string }, updated?: unknown) {
  const sent: { operationName: string; variables: Record<string, unknown> }[] = [];
  const fetch = (_input: RequestInfo | URL, init?: RequestInit) => {
    const request = JSON.parse(String(init?.body)) as (typeof sent)[number];
    sent.push(request);
    const answers: Record<string, unknown> = {
      WorkbookPage: { data: { workbook: { __typename: "Workbook", ...workbook }, me } },
      ViewWorkbook: { data: { viewWorkbook: { counted: true, views: 5 } } },
      WorkbookWidget: { data: { analytics: { columns: ["sum_Total"], rows: [[1234.5]] } } },
      FilterOptions: { data: null, errors: [{ message: "not needed here" }] },
      UpdateWorkbook: updated ? { data: { updateWorkbook: updated } } : { data: null, errors: [conflict] },
    };
    const body = JSON.stringify(answers[request.operationName] ?? { data: null });
    return Promise.resolve(new Response(body, { headers: { "Content-Type": "application/json" } }));
  };
  return { client: new Client({ url: "/graphql", fetch, preferGetMethod: false, exchanges: [fetchExchange] }), sent };
}

function renderPage(me: { name: string; role: string }, updated?: unknown) {
  const { client, sent } = clientFor(me, updated);
  render(
    <Provider value={client}>
      <MemoryRouter initialEntries={["/workbooks/wb1"]}>
        <Routes>
          <Route path="/workbooks/:id" element={<WorkbookPage />} />
        </Routes>
      </MemoryRouter>
    </Provider>,
  );
  return sent;
}

describe("WorkbookPage", () => {
  it("shows a viewer who does not own it the workbook, and no edit control", async () => {
    const sent = renderPage({ name: "bob", role: "viewer" });
    expect(await screen.findByRole("heading", { level: 1, name: "Branch review" })).toBeInTheDocument();
    expect(screen.getByTestId("workbook-owner")).toHaveTextContent("alice");
    expect(await screen.findByTestId("workbook-views")).toHaveTextContent("5 views");
    expect(screen.getByRole("button", { name: /Favorite/ })).toHaveAttribute("aria-pressed", "false");
    expect(screen.getAllByTestId("workbook-widget")).toHaveLength(2);
    expect(screen.queryByRole("button", { name: "Edit layout" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Share" })).toBeNull();
    expect(screen.queryByRole("group", { name: /Layout of/ })).toBeNull();
    expect(sent.map((s) => s.operationName)).toContain("ViewWorkbook");
    // The workbook's filters reach each widget's query.
    const widgetQuery = sent.find((s) => s.operationName === "WorkbookWidget");
    const query = widgetQuery?.variables.query as { filters: unknown[] };
    expect(query.filters).toEqual([{ kind: "IN", column: "Branch", values: ["A"] }]);
  });

  it("lets the owner reorder, then shows the conflict when someone else saved first", async () => {
    const sent = renderPage({ name: "alice", role: "viewer" });
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Edit layout" }));
    await user.click(screen.getByRole("button", { name: "Move By city up" }));
    expect(screen.getByRole("button", { name: "Move By city down" })).toHaveFocus();
    const cells = screen.getAllByTestId("workbook-widget");
    expect(within(cells[0]!).getByRole("heading", { name: "By city" })).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Save" }));
    const dialog = await screen.findByRole("alertdialog", { name: "Someone else saved this workbook" });
    expect(dialog).toHaveTextContent("since then widgets changed");
    expect(within(dialog).getByRole("button", { name: "Reload their version" })).toBeInTheDocument();
    expect(within(dialog).getByRole("button", { name: "Save as a copy" })).toBeInTheDocument();
    const update = sent.find((s) => s.operationName === "UpdateWorkbook");
    const edit = update?.variables.edit as { version: number; widgets: { title: string }[] };
    expect(edit.version).toBe(3);
    expect(edit.widgets.map((w) => w.title)).toEqual(["By city", "Total sales"]);
  });

  it("shows the saved layout as soon as the save answers, and saves next from its version", async () => {
    // the client here has no cache: the page is not read again, as while its refetch is on its way
    const saved = { __typename: "Workbook", ...workbook, widgets: [...workbook.widgets].reverse(), version: 4 };
    const sent = renderPage({ name: "alice", role: "viewer" }, saved);
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Edit layout" }));
    await user.click(screen.getByRole("button", { name: "Move By city up" }));
    await user.click(screen.getByRole("button", { name: "Save" }));
    expect(await screen.findByRole("button", { name: "Edit layout" })).toBeInTheDocument();
    const titles = () =>
      screen.getAllByTestId("workbook-widget").map((c) => within(c).getByRole("heading").textContent);
    expect(titles()).toEqual(["By city", "Total sales"]);
    await user.click(screen.getByRole("button", { name: "Edit layout" }));
    await user.click(screen.getByRole("button", { name: "Save" }));
    const versions = sent.filter((s) => s.operationName === "UpdateWorkbook").map((s) => s.variables.edit);
    expect(versions).toMatchObject([{ version: 3 }, { version: 4 }]);
  });
});

describe("exporting a workbook", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.restoreAllMocks();
    resetAuthForTests();
  });

  it("downloads the export with the credentials and saves it under the server's file name", async () => {
    signIn("tok-1");
    const document = '{"format":"sales-ingest.workbook","version":1,"workbook":{"title":"Branch review"}}';
    const disposition =
      "attachment; filename=\"Branch_review.workbook.json\"; filename*=UTF-8''Branch%20review.workbook.json";
    const { sent } = fakeServer({
      "GET /api/workbooks/wb1/export": new Response(document, {
        headers: { "Content-Type": "application/json", "Content-Disposition": disposition },
      }),
    });
    const blobs: Blob[] = [];
    const createObjectURL = URL.createObjectURL;
    URL.createObjectURL = (blob: Blob) => (blobs.push(blob), "blob:wb1");
    onTestFinished(() => {
      URL.createObjectURL = createObjectURL;
    });
    const saved: { name: string; href: string }[] = [];
    vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
      saved.push({ name: this.download, href: this.href });
    });
    renderPage({ name: "bob", role: "viewer" });
    await userEvent.click(await screen.findByRole("button", { name: "Export" }));
    await vi.waitFor(() => expect(saved).toEqual([{ name: "Branch review.workbook.json", href: "blob:wb1" }]));
    const request = sent.find((s) => s.path === "/api/workbooks/wb1/export");
    expect(request?.headers.get("Authorization")).toBe("Bearer tok-1");
    expect(await blobs[0]!.text()).toBe(document);
  });

  it("says why when the export is refused", async () => {
    fakeServer({});
    renderPage({ name: "bob", role: "viewer" });
    await userEvent.click(await screen.findByRole("button", { name: "Export" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("The workbook could not be exported");
  });

  it("reads the file name from Content-Disposition", () => {
    expect(filenameFromDisposition("attachment; filename=\"a_b.json\"; filename*=UTF-8''a%2Fb%C3%A9.json", "x")).toBe(
      "a-bé.json",
    );
    expect(filenameFromDisposition('attachment; filename="plain.json"', "x")).toBe("plain.json");
    expect(filenameFromDisposition("attachment; filename*=UTF-8''%E0%A4%A.json", "x")).toBe("x");
    expect(filenameFromDisposition(null, "workbook-wb1.json")).toBe("workbook-wb1.json");
  });
});

describe("ConflictDialog", () => {
  it("says what changed and offers to reload or save a copy", async () => {
    const calls: string[] = [];
    const error = new (await import("../../api/errors")).ApiError(
      409,
      conflict.message,
      conflict.extensions.detail,
      "conflict",
    );
    render(
      <ConflictDialog
        error={error}
        onReload={() => calls.push("reload")}
        onSaveCopy={() => calls.push("copy")}
        onClose={() => calls.push("close")}
      />,
    );
    const dialog = screen.getByRole("alertdialog");
    expect(dialog).toHaveTextContent("Someone else saved this workbook after you opened it");
    expect(dialog).toHaveTextContent("What changed: the workbook is at version 4, not 3; since then widgets changed.");
    expect(dialog).toHaveTextContent("Read it again");
    expect(within(dialog).getByRole("button", { name: "Reload their version" })).toHaveFocus();
    await userEvent.click(within(dialog).getByRole("button", { name: "Reload their version" }));
    await userEvent.click(within(dialog).getByRole("button", { name: "Save as a copy" }));
    expect(calls).toEqual(["reload", "copy"]);
  });
});
