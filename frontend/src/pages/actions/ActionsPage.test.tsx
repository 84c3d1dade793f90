import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe as group, expect, it, vi } from "vitest";

import ActionsPage from "./ActionsPage";
import { action, clientFor, renderWith, run, settle, type Answers } from "./testing";

function page(overrides: Answers = {}) {
  let items = [action()];
  const answers: Answers = {
    ListActions: () => ({ data: { actions: { __typename: "ActionPage", items, total: items.length } } }),
    ActionRuns: () => ({ data: { actionRuns: { __typename: "ActionRunPage", items: [run()], total: 1 } } }),
    UpdateAction: (v) => ({ data: { updateAction: action({ enabled: (v.input as { enabled: boolean }).enabled }) } }),
    ExecuteAction: () => ({ data: { executeAction: run({ id: "run2", status: "queued", deliveryLog: [] }) } }),
    DeleteAction: () => {
      items = [];
      return { data: { deleteAction: true } };
    },
    RotateActionSecret: () => ({ data: { rotateActionSecret: "whsec_new" } }),
    CreateAction: () => ({
      data: {
        createAction: { __typename: "ActionCreated", action: action({ id: "a2", name: "Hook" }), secret: "whsec_once" },
      },
    }),
    ...overrides,
  };
  const server = clientFor(answers);
  renderWith(server.client, <ActionsPage />);
  return server;
}

group("ActionsPage", () => {
  it("lists each action with its kind, its triggers in words and its last run", async () => {
    page();
    const card = await screen.findByRole("listitem", { name: "Tell the team" });
    expect(within(card).getByText("Webhook")).toBeVisible();
    const triggers = within(card).getByRole("list", { name: "Triggers" });
    expect(triggers).toHaveTextContent("At 08:00 on Monday to Friday (Europe/Paris).");
    expect(triggers).toHaveTextContent("When a task fails on sales.");
    expect(within(card).getByText("failed")).toHaveAttribute("data-status", "failed");
    expect(within(card).getByRole("switch", { name: "Enabled: Tell the team" })).toBeChecked();
  });

  it("turns an action off and runs one now, opening its run history", async () => {
    const { named } = page();
    const card = await screen.findByRole("listitem", { name: "Tell the team" });
    await userEvent.click(within(card).getByRole("switch", { name: "Enabled: Tell the team" }));
    await vi.waitFor(() =>
      expect(named("UpdateAction")[0]?.variables).toEqual({ id: "a1", input: { enabled: false } }),
    );
    expect(await within(card).findByText("Disabled: its triggers wait until you enable it.")).toBeVisible();

    await userEvent.click(within(card).getByRole("button", { name: "Run now: Tell the team" }));
    expect(await within(card).findByText("A run is queued: its progress shows in the run history.")).toBeVisible();
    expect(named("ExecuteAction")[0]?.variables).toEqual({ id: "a1" });
    expect(await within(card).findByRole("list", { name: "Runs, newest first" })).toBeVisible();
  });

  it("deletes only after the confirmation", async () => {
    const { named } = page();
    const card = await screen.findByRole("listitem", { name: "Tell the team" });
    await userEvent.click(within(card).getByRole("button", { name: "Delete: Tell the team" }));
    const ask = within(card).getByRole("alertdialog");
    expect(ask).toHaveTextContent("Delete Tell the team? Its runs and their log go with it.");
    expect(within(ask).getByRole("button", { name: "Keep it" })).toHaveFocus();
    await userEvent.click(within(ask).getByRole("button", { name: "Keep it" }));
    expect(within(card).queryByRole("alertdialog")).toBeNull();
    expect(within(card).getByRole("button", { name: "Delete: Tell the team" })).toHaveFocus();
    await settle();
    expect(named("DeleteAction")).toHaveLength(0);
    await userEvent.click(within(card).getByRole("button", { name: "Delete: Tell the team" }));
    await userEvent.click(within(card).getByRole("button", { name: "Delete it" }));
    expect(await screen.findByText("Press New action to make one.")).toBeVisible();
    expect(named("DeleteAction")[0]?.variables).toEqual({ id: "a1" });
  });

  it("shows a new webhook's secret once, with a copy button", async () => {
    const writeText = vi.fn(() => Promise.resolve());
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
    page();
    await userEvent.click(await screen.findByRole("button", { name: "New action" }));
    await userEvent.type(screen.getByLabelText("Name"), "Hook");
    await userEvent.type(screen.getByLabelText("Address"), "https://hooks.example.com/x");
    await userEvent.click(screen.getByRole("button", { name: "Create action" }));
    const notice = await screen.findByRole("region", { name: "The signing secret of Hook" });
    expect(notice).toHaveTextContent("Copy it now: it will not be shown again.");
    expect(within(notice).getByText("whsec_once")).toBeVisible();
    await userEvent.click(within(notice).getByRole("button", { name: "Copy the secret" }));
    expect(writeText).toHaveBeenCalledWith("whsec_once");
    expect(await within(notice).findByText("Copied.")).toBeVisible();
    await userEvent.click(within(notice).getByRole("button", { name: "I have copied it" }));
    expect(screen.queryByText("whsec_once")).toBeNull();
  });

  it("makes a new signing secret after the confirmation, and shows it once", async () => {
    const { named } = page();
    const card = await screen.findByRole("listitem", { name: "Tell the team" });
    await userEvent.click(within(card).getByRole("button", { name: "New signing secret" }));
    expect(within(card).getByRole("alertdialog")).toHaveTextContent(
      "Give Tell the team a new signing secret? The one ending in x9Qk stops working at once.",
    );
    await userEvent.click(within(card).getByRole("button", { name: "Make a new secret" }));
    const notice = await screen.findByRole("region", { name: "The signing secret of Tell the team" });
    expect(within(notice).getByText("whsec_new")).toBeVisible();
    expect(within(notice).getByRole("heading")).toHaveFocus();
    expect(named("RotateActionSecret")[0]?.variables).toEqual({ id: "a1" });
  });

  it("names each card's controls with the action, and says when it runs next in its zone", async () => {
    page();
    const card = await screen.findByRole("listitem", { name: "Tell the team" });
    for (const name of ["Run now", "Edit", "Delete"]) {
      expect(within(card).getByRole("button", { name: `${name}: Tell the team` })).toBeVisible();
    }
    expect(within(card).getByRole("switch", { name: "Enabled: Tell the team" })).toBeChecked();
  });

  it("shows the next run, a paused action, an alert's state, a report's workbook and a retrying run", async () => {
    const schedule = {
      __typename: "ActionTrigger",
      id: "t9",
      type: "schedule",
      cron: "0 8 * * 1",
      timezone: "Europe/Berlin",
      event: null,
      datasource: null,
      words: "At 08:00 on Monday, Europe/Berlin time",
      nextTimes: ["2026-12-07T07:00:00Z"],
    };
    const lastRun = (o: Record<string, unknown>) => ({
      __typename: "ActionRun",
      id: "r",
      status: "succeeded",
      trigger: "schedule",
      attempts: 1,
      nextAttemptAt: null,
      output: null,
      createdAt: "2026-12-05T08:00:00Z",
      finishedAt: "2026-12-05T08:00:03Z",
      ...o,
    });
    const items = [
      action({
        id: "a1",
        name: "Weekly",
        kind: "report",
        params: { workbook_id: "wb1", to: ["boss@example.com"] },
        triggers: [schedule],
        lastRun: lastRun({}),
      }),
      action({
        id: "a2",
        name: "Slump",
        kind: "alert",
        params: {
          datasource: "sales",
          measure: { aggregate: "sum", column: "total" },
          window: "yesterday",
          condition: { op: "below", value: 5 },
        },
        triggers: [],
        lastRun: lastRun({ output: { state: "firing", fired: true, value: 3 } }),
      }),
      action({ id: "a3", name: "Quiet", enabled: false, triggers: [schedule], lastRun: lastRun({ output: null }) }),
      action({
        id: "a4",
        name: "Flaky",
        triggers: [],
        lastRun: lastRun({ status: "queued", attempts: 2, nextAttemptAt: "2026-12-05T08:23:00Z" }),
      }),
    ];
    page({
      ListActions: () => ({ data: { actions: { __typename: "ActionPage", items, total: items.length } } }),
      Workbooks: () => ({
        data: {
          workbooks: {
            __typename: "WorkbookPage",
            items: [{ __typename: "Workbook", id: "wb1", title: "Sales overview" }],
          },
        },
      }),
    });
    const weekly = await screen.findByRole("listitem", { name: "Weekly" });
    expect(within(weekly).getByRole("list", { name: "Triggers" })).toHaveTextContent(
      "At 08:00 on Monday, Europe/Berlin time. Next run: Mon, Dec 7, 08:00 (Europe/Berlin).",
    );
    expect(
      await within(weekly).findByText("Sends the data of the workbook “Sales overview” as CSV to boss@example.com."),
    ).toBeVisible();

    const slump = screen.getByRole("listitem", { name: "Slump" });
    expect(within(slump).queryByText("succeeded")).toBeNull();
    expect(within(slump).getByText(/^Firing since /)).toHaveAttribute("data-status", "firing");

    const quiet = screen.getByRole("listitem", { name: "Quiet" });
    expect(within(quiet).getByText("Paused")).toBeVisible();
    expect(within(quiet).getByText("Paused: its triggers wait until you enable it.")).toBeVisible();
    expect(within(quiet).getByRole("list", { name: "Triggers" })).not.toHaveTextContent("Next run");

    const flaky = screen.getByRole("listitem", { name: "Flaky" });
    expect(within(flaky).getByText(/^Retrying at /)).toHaveAttribute("data-status", "retrying");
    expect(within(flaky).queryByText("queued")).toBeNull();
  });
});
