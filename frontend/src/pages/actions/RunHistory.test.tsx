import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe as group, expect, it, vi } from "vitest";

import { RunHistory } from "./RunHistory";
import { clientFor, renderWith, run } from "./testing";

const page = (items: unknown[]) => ({
  data: { actionRuns: { __typename: "ActionRunPage", items, total: items.length } },
});

group("RunHistory", () => {
  it("shows each run's status, trigger, duration, output and each delivery's answer", async () => {
    const imported = run({
      id: "run3",
      trigger: "schedule",
      output: { task_ids: ["0123456789abcdef0123456789abcdef"] },
      deliveryLog: [],
    });
    const { client } = clientFor({ ActionRuns: () => page([run(), imported]) });
    renderWith(client, <RunHistory actionId="a1" />);
    const runs = await screen.findAllByRole("listitem", { name: "" });
    const first = runs.find((r) => r.getAttribute("data-run-status") === "succeeded") as HTMLElement;
    expect(first).toHaveTextContent("HTTP 200 in 42");
    expect(first).toHaveTextContent("by hand");
    expect(first).toHaveTextContent(/Duration\s*2/);
    await userEvent.click(within(first).getByText("Deliveries (1)"));
    expect(within(first).getByLabelText("Answer to attempt 1")).toHaveTextContent('{"ok": true}');
    expect(within(first).getByText(/status 200/)).toBeVisible();
    const link = screen.getByRole("link", { name: "01234567" });
    expect(link).toHaveAttribute("href", "/tasks/0123456789abcdef0123456789abcdef");
    expect(screen.getByText(/on schedule/)).toBeVisible();
  });

  it("says which event and task started an event run", async () => {
    const started = run({
      id: "run5",
      trigger: "event",
      event: {
        type: "task.failed",
        task_id: "fedcba9876543210fedcba9876543210",
        datasource: "sales",
        filename: "bad.csv",
      },
    });
    const { client } = clientFor({ ActionRuns: () => page([started]) });
    renderWith(client, <RunHistory actionId="a1" />);
    const link = await screen.findByRole("link", { name: "bad.csv" });
    expect(link).toHaveAttribute("href", "/tasks/fedcba9876543210fedcba9876543210");
    expect(link.parentElement).toHaveTextContent("when a task fails: bad.csv (sales)");
  });

  it("sends a finished run again, and never offers it for a live one", async () => {
    const { client, named } = clientFor({
      ActionRuns: () => page([run(), run({ id: "run4", status: "running", finishedAt: null, deliveryLog: [] })]),
      RedeliverRun: () => ({ data: { redeliverRun: run({ status: "queued" }) } }),
    });
    renderWith(client, <RunHistory actionId="a1" actionName="Tell the team" kind="webhook" />);
    const buttons = await screen.findAllByRole("button", { name: "Send again: Tell the team" });
    expect(buttons).toHaveLength(1);
    await userEvent.click(buttons[0] as HTMLElement);
    await vi.waitFor(() => expect(named("RedeliverRun")[0]?.variables).toEqual({ actionId: "a1", runId: "run1" }));
  });

  it("asks again every 2 s while a run is queued or running, and stops once it ends", async () => {
    let calls = 0;
    const { client, named } = clientFor({
      ActionRuns: () => {
        calls += 1;
        return page([run({ status: calls < 2 ? "running" : "succeeded" })]);
      },
    });
    const onSettled = vi.fn();
    renderWith(client, <RunHistory actionId="a1" onSettled={onSettled} />);
    await screen.findByText("running");
    expect(onSettled).not.toHaveBeenCalled();
    await vi.waitFor(() => expect(screen.getByText("succeeded")).toBeVisible(), { timeout: 3500 });
    // The page reads the action's last run again; the call comes from an effect run after the
    // render that shows the end, so it is waited for too (a loaded machine ran the check first).
    await vi.waitFor(() => expect(onSettled).toHaveBeenCalledTimes(1));
    const asked = named("ActionRuns").length;
    await new Promise((resolve) => setTimeout(resolve, 2300));
    expect(named("ActionRuns")).toHaveLength(asked);
  }, 10_000);

  it("says what an alert measured and whether it fired", async () => {
    const alert = run({
      output: { value: 812.5, baseline: 1200, change_pct: -32.3, state: "firing", fired: true },
      deliveryLog: [],
    });
    const { client } = clientFor({ ActionRuns: () => page([alert]) });
    renderWith(client, <RunHistory actionId="a1" />);
    const item = await screen.findByRole("listitem");
    expect(item).toHaveTextContent("Value 812.50");
    expect(item).toHaveTextContent(/Change [−-]32\.3%/);
    expect(item).toHaveTextContent("State firing");
    expect(within(item).getByText("Fired")).toBeVisible();
  });

  it("never offers to send again an import's run, nor a run that delivered nothing (issue 26)", async () => {
    const runs = [run(), run({ id: "run5", deliveryLog: [], output: { note: "Nothing new at the address." } })];
    const { client } = clientFor({ ActionRuns: () => page(runs) });
    const { unmount } = renderWith(client, <RunHistory actionId="a1" actionName="Shop feed" kind="import" />);
    await screen.findByText("Nothing new at the address.");
    expect(screen.queryByRole("button", { name: /Send again/ })).toBeNull();
    unmount();
    renderWith(client, <RunHistory actionId="a1" actionName="Hook" kind="webhook" />);
    await screen.findByText("Nothing new at the address.");
    expect(screen.getAllByRole("button", { name: /Send again/ })).toHaveLength(1);
  });

  it("pages beyond 20 runs with Show more", async () => {
    const all = Array.from({ length: 25 }, (_, i) =>
      run({ id: `run${i}`, createdAt: `2026-12-05T08:${String(59 - i).padStart(2, "0")}:00Z` }),
    );
    const { client, named } = clientFor({
      ActionRuns: (v) => ({
        data: {
          actionRuns: {
            __typename: "ActionRunPage",
            items: all.slice(Number(v.offset), Number(v.offset) + Number(v.limit)),
            total: all.length,
          },
        },
      }),
    });
    renderWith(client, <RunHistory actionId="a1" actionName="Hook" kind="webhook" />);
    const list = await screen.findByRole("list", { name: "Runs, newest first" });
    expect(list.querySelectorAll(":scope > li")).toHaveLength(20);
    expect(screen.getByText("The 20 latest of 25 runs.")).toBeVisible();
    await userEvent.click(screen.getByRole("button", { name: "Show more" }));
    await vi.waitFor(() => expect(list.querySelectorAll(":scope > li")).toHaveLength(25));
    expect(named("ActionRuns").at(-1)?.variables).toMatchObject({ offset: 20, limit: 20 });
    expect(screen.queryByRole("button", { name: "Show more" })).toBeNull();
  });

  it("says in a sentence why a delivery was refused, and that a run is retrying", async () => {
    const refused = run({
      id: "run7",
      status: "failed",
      deliveryLog: [
        {
          __typename: "ActionDelivery",
          attempt: 1,
          at: "2026-12-05T08:00:02Z",
          channel: "http",
          target: "http://10.1.2.3/hook",
          statusCode: null,
          latencyMs: null,
          responseHead: null,
          error: "10.1.2.3 is a private address; outbound calls go only to public addresses.",
          refused: true,
        },
      ],
    });
    const waiting = run({
      id: "run8",
      status: "queued",
      attempts: 2,
      nextAttemptAt: "2026-12-05T08:23:00Z",
      finishedAt: null,
    });
    const { client } = clientFor({ ActionRuns: () => page([waiting, refused]) });
    renderWith(client, <RunHistory actionId="a1" actionName="Hook" kind="webhook" />);
    const item = (await screen.findAllByRole("listitem")).find(
      (r) => r.getAttribute("data-run-status") === "failed",
    ) as HTMLElement;
    await userEvent.click(within(item).getByText("Deliveries (1)"));
    expect(
      within(item).getByText(
        /the delivery to http:\/\/10\.1\.2\.3\/hook was refused and not sent, because 10\.1\.2\.3 is a private address; outbound calls go only to public addresses\.$/,
      ),
    ).toBeVisible();
    expect(screen.getByText(/^Retrying at /)).toHaveAttribute("data-status", "retrying");
    expect(screen.queryByText("queued")).toBeNull();
  });
});
