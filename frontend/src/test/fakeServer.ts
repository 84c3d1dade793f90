// A fetch stand-in for tests: answers by "METHOD path" and records each request it was sent.
import { vi } from "vitest";

export interface Sent {
  method: string;
  path: string;
  headers: Headers;
  credentials: RequestCredentials | undefined;
  body: unknown;
}

type Answer = Response | (() => Response);

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  const text = status === 204 ? null : JSON.stringify(body);
  return new Response(text, { status, headers: { "Content-Type": "application/json", ...headers } });
}

/** Installs a fake fetch; routes not listed answer 404 in the service's error shape. */
export function fakeServer(routes: Record<string, Answer>) {
  const sent: Sent[] = [];
  const fetch = vi.fn((input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input instanceof Request ? input.url : input), "http://app.test");
    const method = (init?.method ?? "GET").toUpperCase();
    const path = `${url.pathname}${url.search}`;
    let body: unknown = init?.body;
    if (typeof body === "string") {
      try {
        body = JSON.parse(body);
      } catch {
        /* kept as text */
      }
    }
    sent.push({ method, path, headers: new Headers(init?.headers), credentials: init?.credentials, body });
    const answer = routes[`${method} ${path}`] ?? routes[`${method} ${url.pathname}`];
    const response = answer
      ? typeof answer === "function"
        ? answer()
        : answer.clone()
      : json(404, { error: "not found" });
    return Promise.resolve(response);
  });
  vi.stubGlobal("fetch", fetch);
  return { sent, fetch };
}

export const SESSION = {
  user: { name: "ada", display_name: "Ada Lovelace", role: "viewer" },
  csrf_token: "csrf-123",
  expires_at: "2030-01-01T00:00:00Z",
};
