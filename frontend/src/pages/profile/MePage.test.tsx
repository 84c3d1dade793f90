import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router";
import { Client, Provider, fetchExchange } from "urql";
import { afterEach, describe, expect, it, vi } from "vitest";

import MePage from "./MePage";

const me = {
  __typename: "User",
  name: "alice",
  displayName: "Alice Martin",
  role: "viewer",
  timeZone: "UTC",
  email: null,
  defaultDatasource: null,
  defaultDashboard: null,
};

interface Sent {
  operationName: string;
  variables: Record<string, unknown>;
}

function clientFor(updateMe: (variables: Record<string, unknown>) => unknown) {
  const sent: Sent[] = [];
  const answers: Record<string, (variables: Record<string, unknown>) => unknown> = {
    MySettings: () => ({ data: { me, datasources: [{ name: "sales" }] } }),
    MyWorkbooks: () => ({ data: { workbooks: { items: [{ id: "wb1", title: "North branch margins" }] } } }),
    UpdateMe: updateMe,
  };
  const fetch = (_input: RequestInfo | URL, init?: RequestInit) => {
    const body = JSON.parse(String(init?.body)) as Sent;
    sent.push(body);
    const answer = answers[body.operationName]?.(body.variables ?? {}) ?? { data: null };
    return Promise.resolve(new Response(JSON.stringify(answer), { headers: { "Content-Type": "application/json" } }));
  };
  return { client: new Client({ url: "/graphql", fetch, preferGetMethod: false, exchanges: [fetchExchange] }), sent };
}

function renderPage(client: Client) {
  render(
    <Provider value={client}>
      <MemoryRouter initialEntries={["/me"]}>
        <MePage />
      </MemoryRouter>
    </Provider>,
  );
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("MePage", () => {
  it("shows the server's sentence when the time zone is refused", async () => {
    const { client, sent } = clientFor(() => ({
      data: null,
      errors: [
        {
          message: "unknown time zone 'Mars/Olympus'",
          extensions: { code: "INVALID_INPUT", detail: "Give an IANA time zone name such as Europe/Paris." },
        },
      ],
    }));
    renderPage(client);
    const zone = await screen.findByLabelText("Time zone");
    await userEvent.clear(zone);
    await userEvent.type(zone, "Mars/Olympus");
    await userEvent.selectOptions(screen.getByLabelText("Default dashboard"), "wb1");
    await userEvent.click(screen.getByRole("button", { name: "Save settings" }));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("unknown time zone 'Mars/Olympus'");
    expect(alert).toHaveTextContent("Give an IANA time zone name such as Europe/Paris.");
    expect(sent.find((s) => s.operationName === "UpdateMe")?.variables).toEqual({
      input: {
        displayName: "Alice Martin",
        timeZone: "Mars/Olympus",
        email: null,
        defaultDatasource: null,
        defaultDashboard: "wb1",
      },
    });
  });

  it("sends the e-mail address reports go to", async () => {
    const { client, sent } = clientFor((variables) => ({
      data: { updateMe: { ...me, ...(variables.input as object) } },
    }));
    renderPage(client);
    await userEvent.type(await screen.findByLabelText("E-mail"), " alice@example.com ");
    await userEvent.click(screen.getByRole("button", { name: "Save settings" }));
    expect(await screen.findByText("Your settings are saved.")).toBeVisible();
    const input = sent.find((s) => s.operationName === "UpdateMe")?.variables.input as Record<string, unknown>;
    expect(input.email).toBe("alice@example.com");
  });

  it("says the settings are saved when the server takes them", async () => {
    const { client } = clientFor((variables) => ({
      data: { updateMe: { ...me, ...(variables.input as object) } },
    }));
    renderPage(client);
    const name = await screen.findByLabelText("Display name");
    await userEvent.clear(name);
    await userEvent.type(name, "Alice M.");
    await userEvent.click(screen.getByRole("button", { name: "Save settings" }));
    expect(await screen.findByText("Your settings are saved.")).toBeVisible();
  });

  it("posts the password change and shows the server's sentence when it is refused", async () => {
    const post = vi.fn<(input: RequestInfo | URL, init?: RequestInit) => Promise<Response>>(() =>
      Promise.resolve(
        new Response(JSON.stringify({ error: "The current password is not right.", detail: null }), {
          status: 400,
          headers: { "Content-Type": "application/json" },
        }),
      ),
    );
    vi.stubGlobal("fetch", post);
    renderPage(clientFor(() => ({ data: null })).client);
    await userEvent.type(screen.getByLabelText("Current password"), "old-secret");
    await userEvent.type(screen.getByLabelText("New password"), "a-much-longer-secret");
    await userEvent.type(screen.getByLabelText("New password again"), "a-much-longer-secret");
    await userEvent.click(screen.getByRole("button", { name: "Change password" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("The current password is not right.");
    const [url, init] = post.mock.calls[0]!;
    expect(url).toBe("/api/users/me/password");
    expect(init?.method).toBe("POST");
    expect(JSON.parse(String(init?.body))).toEqual({ current: "old-secret", new: "a-much-longer-secret" });
  });
});
