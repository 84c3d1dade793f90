// For the Actions page's tests: a GraphQL server that answers each operation by its name and
// records what was sent, and the records the answers are made of.
import { render } from "@testing-library/react";
import type { ReactNode } from "react";
import { MemoryRouter } from "react-router";
import { Client, Provider, fetchExchange } from "urql";

export interface Sent {
  operationName: string;
  variables: Record<string, unknown>;
}

export type Answers = Record<string, (variables: Record<string, unknown>) => unknown>;

export function clientFor(answers: Answers) {
  const sent: Sent[] = [];
  const fetch = (_input: RequestInfo | URL, init?: RequestInit) => {
    const body = JSON.parse(String(init?.body)) as Sent;
    sent.push(body);
    const answer = answers[body.operationName]?.(body.variables ?? {}) ?? { data: null };
    return Promise.resolve(new Response(JSON.stringify(answer), { headers: { "Content-Type": "application/json" } }));
  };
  const client = new Client({ url: "/graphql", fetch, preferGetMethod: false, exchanges: [fetchExchange] });
  return { client, sent, named: (name: string) => sent.filter((s) => s.operationName === name) };
}

export function renderWith(client: Client, children: ReactNode) {
  return render(
    <Provider value={client}>
      <MemoryRouter>{children}</MemoryRouter>
    </Provider>,
  );
}

export const settle = (ms = 50) => new Promise((resolve) => setTimeout(resolve, ms));

export function run(overrides: Record<string, unknown> = {}) {
  return {
    __typename: "ActionRun",
    id: "run1",
    actionId: "a1",
    trigger: "manual",
    status: "succeeded",
    scheduledFor: null,
    attempts: 1,
    deliveries: 1,
    nextAttemptAt: null,
    output: { http_status: 200, latency_ms: 42 },
    error: null,
    createdAt: "2026-12-05T08:00:00Z",
    startedAt: "2026-12-05T08:00:01Z",
    finishedAt: "2026-12-05T08:00:03Z",
    event: null,
    deliveryLog: [
      {
        __typename: "ActionDelivery",
        attempt: 1,
        at: "2026-12-05T08:00:02Z",
        channel: "http",
        target: "https://hooks.example.com",
        statusCode: 200,
        latencyMs: 42,
        responseHead: '{"ok": true}',
        error: null,
        refused: false,
      },
    ],
    ...overrides,
  };
}

export function action(overrides: Record<string, unknown> = {}) {
  return {
    __typename: "Action",
    id: "a1",
    name: "Tell the team",
    kind: "webhook",
    params: { url: "https://hooks.example.com/sales" },
    triggers: [
      {
        __typename: "ActionTrigger",
        id: "t1",
        type: "schedule",
        cron: "0 8 * * 1-5",
        timezone: "Europe/Paris",
        event: null,
        datasource: null,
        words: "At 08:00 on Monday to Friday (Europe/Paris).",
        nextTimes: [],
      },
      {
        __typename: "ActionTrigger",
        id: "t2",
        type: "event",
        cron: null,
        timezone: null,
        event: "task.failed",
        datasource: "sales",
        words: null,
        nextTimes: [],
      },
    ],
    enabled: true,
    owner: "ada",
    secretHint: "x9Qk",
    createdAt: "2026-12-05T07:00:00Z",
    updatedAt: "2026-12-05T07:00:00Z",
    lastRun: {
      __typename: "ActionRun",
      id: "run1",
      status: "failed",
      trigger: "manual",
      createdAt: "2026-12-05T08:00:00Z",
      finishedAt: "2026-12-05T08:00:03Z",
    },
    ...overrides,
  };
}

export const NEXT_TIMES = [
  "2026-12-07T07:00:00Z",
  "2026-12-08T07:00:00Z",
  "2026-12-09T07:00:00Z",
  "2026-12-10T07:00:00Z",
  "2026-12-11T07:00:00Z",
];

/** describeSchedule as the server answers it: "bad" anywhere is an expression it cannot read. */
export function describe(variables: Record<string, unknown>) {
  const cron = String(variables.cron);
  if (cron.includes("bad") || cron.split(" ").length < 5) {
    return {
      data: {
        describeSchedule: {
          __typename: "ScheduleDescription",
          valid: false,
          error: "Bad minute: a cron expression has five fields, such as 0 8 * * *.",
          words: null,
          nextTimes: [],
        },
      },
    };
  }
  return {
    data: {
      describeSchedule: {
        __typename: "ScheduleDescription",
        valid: true,
        error: null,
        words: `Words for ${cron} in ${String(variables.timezone)}.`,
        nextTimes: NEXT_TIMES,
      },
    },
  };
}
