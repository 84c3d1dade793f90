import { act, fireEvent, render, screen } from "@testing-library/react";
import { Client, Provider, fetchExchange } from "urql";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { AccessLog } from "./AccessLog";

const entry = (id: number) => ({
  id: String(id),
  at: "2026-12-01T08:00:00Z",
  actor: "ana",
  action: "upload",
  target: null,
});

/** A server with 45 entries, recording the offset of each access-log page asked for. */
function server() {
  const asked: number[] = [];
  const fetch = (_input: RequestInfo | URL, init?: RequestInit) => {
    const { variables } = JSON.parse(String(init?.body)) as { variables: { offset: number; limit: number } };
    asked.push(variables.offset);
    const items = Array.from({ length: Math.min(variables.limit, 45 - variables.offset) }, (_, i) =>
      entry(variables.offset + i),
    );
    const next = variables.offset + items.length < 45 ? variables.offset + items.length : null;
    const body = JSON.stringify({ data: { accessLogs: { total: 45, nextOffset: next, items } } });
    return Promise.resolve(new Response(body, { headers: { "Content-Type": "application/json" } }));
  };
  return { client: new Client({ url: "/graphql", fetch, preferGetMethod: false, exchanges: [fetchExchange] }), asked };
}

describe("AccessLog", () => {
  beforeEach(() => vi.useFakeTimers({ shouldAdvanceTime: true }));
  afterEach(() => vi.useRealTimers());

  it("follows new entries on the newest page only, so an older page does not move while read", async () => {
    const { client, asked } = server();
    render(
      <Provider value={client}>
        <AccessLog paused={false} />
      </Provider>,
    );
    await act(() => vi.advanceTimersByTimeAsync(11_000));
    expect(asked.filter((offset) => offset === 0).length).toBeGreaterThan(1); // the first page refreshes
    fireEvent.click(await screen.findByRole("button", { name: "Older" }));
    await act(() => vi.advanceTimersByTimeAsync(100));
    const older = asked.filter((offset) => offset > 0).length;
    expect(older).toBe(1);
    await act(() => vi.advanceTimersByTimeAsync(16_000));
    expect(asked.filter((offset) => offset > 0).length).toBe(older);
  });
});
