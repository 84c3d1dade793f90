import { render, screen } from "@testing-library/react";
import { Client, Provider, fetchExchange } from "urql";
import { describe, expect, it } from "vitest";

import { StatusUsers } from "./StatusUsers";

const alice = {
  id: "u1",
  name: "alice",
  displayName: "Alice Martin",
  role: "viewer",
  createdAt: "2026-11-01T08:00:00Z",
  lastSeenAt: null,
  disabledAt: null,
};

/** A client whose server answers each query by its operation name, recording which were sent. */
function clientFor(role: string) {
  const sent: string[] = [];
  const answers: Record<string, unknown> = {
    StatusUserCount: { userCount: 1234 },
    StatusMyRole: { me: { name: "me", role } },
    StatusUsers: { users: { items: [alice], total: 1, nextOffset: null } },
  };
  const fetch = (_input: RequestInfo | URL, init?: RequestInit) => {
    const { operationName } = JSON.parse(String(init?.body)) as { operationName: string };
    sent.push(operationName);
    const body = JSON.stringify({ data: answers[operationName] });
    return Promise.resolve(new Response(body, { headers: { "Content-Type": "application/json" } }));
  };
  return { client: new Client({ url: "/graphql", fetch, preferGetMethod: false, exchanges: [fetchExchange] }), sent };
}

/** Lets every answer already given reach the components (and any query they start be sent). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

describe("StatusUsers", () => {
  it("shows an admin the count and the user table", async () => {
    const { client, sent } = clientFor("admin");
    render(
      <Provider value={client}>
        <StatusUsers />
      </Provider>,
    );
    expect(await screen.findByTestId("user-count")).toHaveTextContent(/1,234 users are enabled\./);
    const table = await screen.findByRole("table", { name: "User accounts" });
    expect(table).toHaveTextContent("Alice Martin");
    expect(sent).toContain("StatusUsers");
  });

  it("shows a viewer the count only, and never asks for the users", async () => {
    const { client, sent } = clientFor("viewer");
    render(
      <Provider value={client}>
        <StatusUsers />
      </Provider>,
    );
    expect(await screen.findByTestId("user-count")).toHaveTextContent(/1,234 users are enabled\./);
    await settle();
    expect(sent).toContain("StatusMyRole");
    expect(screen.queryByRole("table")).toBeNull();
    expect(sent).not.toContain("StatusUsers");
  });
});
