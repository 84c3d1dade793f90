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
    expect(within(card).getByRole("switch", { name: "Enabled" })).toBeChecked();
  });

  it("turns an action off and runs one now, opening its run history", async () => {
    const { named } = page();
    const card = await screen.findByRole("listitem", { name: "Tell the team" });
    await userEvent.click(within(card).getByRole("switch", { name: "Enabled" }));
    await vi.waitFor(() =>
      expect(named("UpdateAction")[0]?.variables).toEqual({ id: "a1", input: { enabled: false } }),
    );
    expect(await within(card).findByText("Disabled: its triggers wait until you enable it.")).toBeVisible();

    await userEvent.click(within(card).getByRole("button", { name: "Run now" }));
    expect(await within(card).findByText("A run is queued: its progress shows in the run history.")).toBeVisible();
    expect(named("ExecuteAction")[0]?.variables).toEqual({ id: "a1" });
    expect(await within(card).findByRole("list", { name: "Runs, newest first" })).toBeVisible();
  });

  it("deletes only after the confirmation", async () => {
    const { named } = page();
    const card = await screen.findByRole("listitem", { name: "Tell the team" });
    await userEvent.click(within(card).getByRole("button", { name: "Delete" }));
    const ask = within(card).getByRole("alertdialog");
    expect(ask).toHaveTextContent("Delete Tell the team? Its runs and their log go with it.");
    expect(within(ask).getByRole("button", { name: "Keep it" })).toHaveFocus();
    await userEvent.click(within(ask).getByRole("button", { name: "Keep it" }));
    expect(within(card).queryByRole("alertdialog")).toBeNull();
    expect(within(card).getByRole("button", { name: "Delete" })).toHaveFocus();
    await settle();
    expect(named("DeleteAction")).toHaveLength(0);
    await userEvent.click(within(card).getByRole("button", { name: "Delete" }));
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
});
