// The GraphQL client (urql): a document cache keyed by query and variables is all these pages
// need. Every request carries the browser's credentials (auth.ts: the bearer token, or in session
// mode the cookie plus the CSRF token, GraphQL's POSTs being writes to the server); errors in our REST shape (a 401 before the
// GraphQL layer, a 413...) are turned into GraphQL errors with extensions.code so every widget
// reads one kind of error. Subscriptions (live task progress) go over a websocket with the
// graphql-transport-ws protocol (graphql-ws: the protocol's reference client), the token in the
// connection's first message (browsers cannot set headers on websockets); pages fall back to
// polling when the socket cannot be used.
import {
  Client,
  cacheExchange,
  fetchExchange,
  mapExchange,
  subscriptionExchange,
  type CombinedError,
} from "@urql/core";
import { createClient as createSocketClient } from "graphql-ws";

import { authHeaders, CREDENTIALS, getAuthState, requireSignIn } from "./auth";
import { describeError, isUnauthorized } from "./errors";

export const GRAPHQL_PATH = "/graphql";

async function fetchWithAuth(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const headers = new Headers(init?.headers);
  for (const [name, value] of Object.entries(authHeaders(init?.method ?? "GET"))) headers.set(name, value);
  const response = await fetch(input, { ...init, headers, credentials: CREDENTIALS });
  if (response.ok) return response;
  let body: unknown;
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

function socketUrl(): string {
  const { protocol, host } = window.location;
  return `${protocol === "https:" ? "wss" : "ws"}://${host}${GRAPHQL_PATH}`;
}

function socketExchange() {
  const sockets = createSocketClient({
    url: socketUrl(),
    lazy: true, // opened by the first subscription, closed after the last
    retryAttempts: 3,
    connectionParams: () => (getAuthState().status === "token" ? authHeaders() : {}),
  });
  return subscriptionExchange({
    forwardSubscription(request) {
      const operation = { ...request, query: request.query ?? "" };
      return {
        subscribe(sink) {
          return { unsubscribe: sockets.subscribe(operation, sink) };
        },
      };
    },
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
      socketExchange(),
    ],
  });
}
