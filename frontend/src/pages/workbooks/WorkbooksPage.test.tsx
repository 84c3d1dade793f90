import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router";
import { Client, Provider, fetchExchange } from "urql";
import { afterEach, describe, expect, it, vi } from "vitest";

import { resetAuthForTests, signIn } from "../../api/auth";
import { fakeServer, json } from "../../test/fakeServer";
import { readFilters, toVariables } from "./params";
import WorkbooksPage, { showingText } from "./WorkbooksPage";

const northWorkbook = {
  __typename: "Workbook",
  id: "wb1",
  title: "North branch margins",
  description: "Margins of the north branch, by month.",
  datasource: "sales",
  tags: ["finance", "north"],
  owner: "alice",
  views: 12,
  favorited: false,
  updatedAt: "2026-11-02T09:00:00Z",
};

interface Sent {
  operationName: string;
  variables: Record<string, unknown>;
}

/** A client whose server answers each operation by its name, recording what was sent. */
function clientFor(overrides: Record<string, (variables: Record<string, unknown>) => unknown> = {}) {
  const sent: Sent[] = [];
  const answers: Record<string, (variables: Record<string, unknown>) => unknown> = {
    Workbooks: () => ({
      data: { workbooks: { items: [northWorkbook], total: 1, limit: 24, offset: 0, nextOffset: null } },
    }),
    WorkbookTags: () => ({
      data: {
        workbookTags: [
          { name: "finance", count: 3 },
          { name: "north", count: 1 },
        ],
      },
    }),
    WorkbookFeed: () => ({
      data: { workbookFeed: { recent: [northWorkbook], favorites: [], popular: [northWorkbook], sharedWithMe: [] } },
    }),
    FavoriteWorkbook: (variables) => ({
      data: {
        favoriteWorkbook: { __typename: "Workbook", id: variables.id, favorited: variables.favorite, favorites: 1 },
      },
    }),
    ...overrides,
  };
  const fetch = (_input: RequestInfo | URL, init?: RequestInit) => {
    const body = JSON.parse(String(init?.body)) as Sent;
    sent.push(body);
    const answer = answers[body.operationName]?.(body.variables ?? {}) ?? { data: null };
    return Promise.resolve(new Response(JSON.stringify(answer), { headers: { "Content-Type": "application/json" } }));
  };
  const client = new Client({ url: "/graphql", fetch, preferGetMethod: false, exchanges: [fetchExchange] });
  return { client, sent };
}

function renderAt(url: string, client: Client) {
  return render(
    <Provider value={client}>
      <MemoryRouter initialEntries={[url]}>
        <WorkbooksPage />
      </MemoryRouter>
    </Provider>,
  );
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

describe("WorkbooksPage", () => {
  it("asks for the workbooks the URL describes", async () => {
    const { client, sent } = clientFor();
    renderAt("/workbooks?q=north&tag=finance&tag=north&sort=popular&fav=1&author=alice&page=2", client);
    await screen.findByRole("link", { name: "North branch margins" });
    const asked = sent.find((s) => s.operationName === "Workbooks");
    expect(asked?.variables).toEqual({
      q: "north",
      tags: ["finance", "north"],
      author: "alice",
      favorites: true,
      sort: "popular",
      limit: 24,
      offset: 48,
    });
    expect(screen.getByRole("searchbox", { name: "Search" })).toHaveValue("north");
    expect(screen.getByRole("button", { name: /^finance/ })).toHaveAttribute("aria-pressed", "true");
  });

  it("reads an empty or odd URL as the first page of everything, most recent first", () => {
    expect(toVariables(readFilters(new URLSearchParams("sort=loudest&page=-3&tag=")))).toEqual({
      q: null,
      tags: null,
      author: null,
      favorites: false,
      sort: "recent",
      limit: 24,
      offset: 0,
    });
  });

  it("shows the home feed without filters, and not once a tag is chosen", async () => {
    const first = clientFor();
    renderAt("/workbooks", first.client);
    const feed = await screen.findByRole("region", { name: "Your feed" });
    expect(await within(feed).findByRole("heading", { name: "Popular in the last 30 days" })).toBeVisible();
    expect(first.sent.map((s) => s.operationName)).toContain("WorkbookFeed");

    await userEvent.click(screen.getByRole("button", { name: /^north/ }));
    expect(screen.queryByRole("region", { name: "Your feed" })).toBeNull();
    await settle();
    const last = first.sent.filter((s) => s.operationName === "Workbooks").at(-1);
    expect(last?.variables.tags).toEqual(["north"]);
  });

  it("never asks for the feed when the URL holds a search", async () => {
    const { client, sent } = clientFor();
    renderAt("/workbooks?q=margins", client);
    await screen.findByRole("link", { name: "North branch margins" });
    await settle();
    expect(sent.map((s) => s.operationName)).not.toContain("WorkbookFeed");
    expect(screen.queryByRole("region", { name: "Your feed" })).toBeNull();
  });

  it("turns the star at once and saves the favorite", async () => {
    const { client, sent } = clientFor();
    renderAt("/workbooks?q=north", client);
    const star = await screen.findByRole("button", { name: "Favorite North branch margins" });
    expect(star).toHaveAttribute("aria-pressed", "false");
    await userEvent.click(star);
    expect(star).toHaveAttribute("aria-pressed", "true");
    await settle();
    const favorite = sent.find((s) => s.operationName === "FavoriteWorkbook");
    expect(favorite?.variables).toEqual({ id: "wb1", favorite: true });
    expect(star).toHaveAttribute("aria-pressed", "true");
  });

  it("turns the star back and says why when the server refuses", async () => {
    const { client } = clientFor({
      FavoriteWorkbook: () => ({ data: null, errors: [{ message: "This workbook no longer exists." }] }),
    });
    renderAt("/workbooks?q=north", client);
    const star = await screen.findByRole("button", { name: "Favorite North branch margins" });
    await userEvent.click(star);
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "The favorite could not be saved: This workbook no longer exists.",
    );
    expect(star).toHaveAttribute("aria-pressed", "false");
  });

  it("says how to make the first workbook when there is none", async () => {
    const { client } = clientFor({
      Workbooks: () => ({ data: { workbooks: { items: [], total: 0, limit: 24, offset: 0, nextOffset: null } } }),
    });
    renderAt("/workbooks?sort=title", client);
    expect(await screen.findByText("No workbooks yet. Open the dashboard and choose Save as workbook.")).toBeVisible();
  });
});

describe("the paging sentence", () => {
  it("speaks of one workbook in the singular", () => {
    expect(showingText(0, 1, 1)).toBe("Showing 1 workbook.");
    expect(showingText(0, 3, 3)).toBe("Showing all 3 workbooks.");
    expect(showingText(24, 1, 25)).toBe("Showing workbook 25 of 25.");
    expect(showingText(24, 24, 60)).toBe("Showing 25 to 48 of 60 workbooks.");
  });
});

describe("importing a workbook", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    resetAuthForTests();
  });

  const exported = () =>
    new File([JSON.stringify({ format: "sales-ingest.workbook", version: 1, workbook: {} })], "margins.workbook.json", {
      type: "application/json",
    });

  async function chooseFile(file: File) {
    const { client, sent } = clientFor();
    renderAt("/workbooks", client);
    await screen.findByRole("heading", { name: "Popular in the last 30 days" });
    const user = userEvent.setup();
    await user.click(screen.getByText("Import a workbook"));
    await user.upload(screen.getByLabelText("Workbook file (JSON)"), file);
    return sent;
  }

  it("sends the file with the credentials, then links to the new workbook and says what it lacks", async () => {
    signIn("tok-1");
    const warning =
      "This installation has no datasource 'north' yet: upload one of that name for the workbook to show data.";
    const { sent: rest } = fakeServer({
      "POST /api/workbooks/import": json(201, {
        workbook: { ...northWorkbook, id: "wb9", title: "North branch margins (imported)" },
        warnings: [warning],
      }),
    });
    const file = exported();
    const sent = await chooseFile(file);
    const link = await screen.findByRole("link", { name: "North branch margins (imported)" });
    expect(link).toHaveAttribute("href", "/workbooks/wb9");
    const said = "The workbook North branch margins (imported) is imported as a private workbook of yours.";
    expect(screen.getByText((_, element) => element?.tagName === "P" && element.textContent === said)).toBeVisible();
    const warnings = screen.getByRole("list", { name: "Warnings about the import" });
    expect(within(warnings).getByRole("listitem")).toHaveTextContent(warning);
    const request = rest.find((s) => s.path === "/api/workbooks/import");
    expect(request?.method).toBe("POST");
    expect(request?.headers.get("Authorization")).toBe("Bearer tok-1");
    expect(request?.headers.get("Content-Type")).toBe("application/json");
    expect(request?.body).toBe(file);
    // The list and the feed are asked again, so the new workbook shows in them.
    await settle();
    expect(sent.filter((s) => s.operationName === "Workbooks")).toHaveLength(2);
    expect(sent.filter((s) => s.operationName === "WorkbookFeed")).toHaveLength(2);
  });

  it("shows the server's refusal as sentences, with a hint for people instead of an API path", async () => {
    fakeServer({
      "POST /api/workbooks/import": json(422, {
        error: "this is not a workbook export: its format is 'csv', not 'sales-ingest.workbook'",
        detail: "Send the document GET /api/workbooks/{id}/export answers.",
      }),
    });
    await chooseFile(exported());
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("The workbook could not be imported");
    expect(alert).toHaveTextContent("This is not a workbook export: its format is 'csv', not 'sales-ingest.workbook'.");
    expect(alert).toHaveTextContent("Choose a JSON file that Export on a workbook downloaded.");
    expect(alert).not.toHaveTextContent("/api/");
  });

  it("says when the file is too large", async () => {
    fakeServer({
      "POST /api/workbooks/import": json(413, {
        error: "a workbook export is at most 4 MiB",
        detail: "Send the document GET /api/workbooks/{id}/export answers.",
      }),
    });
    await chooseFile(exported());
    expect(await screen.findByRole("alert")).toHaveTextContent("A workbook export is at most 4 MiB.");
  });
});
