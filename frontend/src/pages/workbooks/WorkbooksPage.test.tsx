import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router";
import { Client, Provider, fetchExchange } from "urql";
import { describe, expect, it } from "vitest";

import { readFilters, toVariables } from "./params";
import WorkbooksPage from "./WorkbooksPage";

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
