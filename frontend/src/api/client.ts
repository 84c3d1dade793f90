// The GraphQL client (urql): a document cache keyed by query and variables is all these pages
// need. Every request carries the session's token; errors in our REST shape (a 401 before the
// GraphQL layer, a 413...) are turned into GraphQL errors with extensions.code so every widget
// reads one kind of error. The server offers no subscriptions yet: pages poll (usePolling).
import {
  Client,
  cacheExchange,
  fetchExchange,
  mapExchange,
  type CombinedError,
} from "@urql/core";

import { authHeaders, requireSignIn } from "./auth";
import { describeError, isUnauthorized } from "./errors";

export const GRAPHQL_PATH = "/graphql";

async function fetchWithAuth(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const headers = new Headers(init?.headers);
  for (const [name, value] of Object.entries(authHeaders())) headers.set(name, value);
  const response = await fetch(input, { ...init, headers });
  if (response.ok) return response;
  let body: unknown = null;
  try {
    body = await response.clone().json();
  } catch {
    return response;
  }
  const shaped = body as { error?: unknown; detail?: unknown; code?: unknown; errors?: unknown };
  if (typeof shaped.error !== "string" || shaped.errors !== undefined) return response;
  const graphql = {
    data: null,
    errors: [
      {
        message: shaped.error,
        extensions: {
          code: typeof shaped.code === "string" ? shaped.code.toUpperCase() : undefined,
          detail: shaped.detail,
          status: response.status,
        },
      },
    ],
  };
  return new Response(JSON.stringify(graphql), {
    status: response.status,
    statusText: response.statusText,
    headers: { "Content-Type": "application/json" },
  });
}

export function makeClient(): Client {
  return new Client({
    url: GRAPHQL_PATH,
    fetch: fetchWithAuth,
    preferGetMethod: false,
    requestPolicy: "cache-and-network",
    exchanges: [
      mapExchange({
        onError(error: CombinedError) {
          const problem = describeError(error);
          if (isUnauthorized(problem)) requireSignIn(problem.message);
        },
      }),
      cacheExchange,
      fetchExchange,
    ],
  });
}
