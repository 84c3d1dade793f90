import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe as group, expect, it, vi } from "vitest";

import { ActionForm } from "./ActionForm";
import { action, clientFor, describe, renderWith, settle } from "./testing";

function workbooks() {
  return {
    data: {
      workbooks: {
        __typename: "WorkbookPage",
        items: [{ __typename: "Workbook", id: "wb1", title: "North branch margins" }],
      },
    },
  };
}

group("ActionForm", () => {
  it("reads a schedule back in words with its next five times, 300 ms after typing", async () => {
    const { client, named } = clientFor({ DescribeSchedule: describe });
    renderWith(client, <ActionForm onSaved={vi.fn()} onCancel={vi.fn()} />);
    await userEvent.selectOptions(screen.getByLabelText("When"), "schedule");
    const cron = screen.getByLabelText("Cron expression");
    await userEvent.clear(cron);
    await userEvent.type(cron, "30 6 * * 1");
    // Typing asks nothing: only the expression as it stands 300 ms after the last key (the
    // prefilled one may have been asked before): not one question per key.
    expect(
      await screen.findByText(
        "Words for 30 6 * * 1 in " + screen.getByLabelText<HTMLInputElement>("Time zone").value + ".",
        {},
        { timeout: 5000 },
      ),
    ).toBeVisible();
    const asked = named("DescribeSchedule").map((s) => s.variables.cron);
    expect(asked.at(-1)).toBe("30 6 * * 1");
    expect(asked.length).toBeLessThan(4);
    const times = screen.getByText("The next five times:").nextElementSibling as HTMLElement;
    expect(within(times).getAllByRole("listitem")).toHaveLength(5);
    expect(cron).toHaveAccessibleDescription(/Words for 30 6/);

    await userEvent.clear(cron);
    await userEvent.type(cron, "bad * * * *");
    expect(
      await screen.findByText(
        "Bad minute: a cron expression has five fields, such as 0 8 * * *.",
        {},
        { timeout: 5000 },
      ),
    ).toBeVisible();
    await vi.waitFor(() => expect(cron).toHaveAttribute("aria-invalid", "true"));
  }, 15_000);

  it("says what is missing as you type, and will not send a form with problems", async () => {
    const { client, named } = clientFor({ DescribeSchedule: describe });
    renderWith(client, <ActionForm onSaved={vi.fn()} onCancel={vi.fn()} />);
    const url = screen.getByLabelText("Address");
    await userEvent.type(url, "example.com");
    expect(screen.getByText("Give an http:// or https:// address, such as https://example.com/hook.")).toBeVisible();
    await userEvent.click(screen.getByRole("button", { name: "Create action" }));
    expect(screen.getByText("Give the action a name.")).toBeVisible();
    expect(screen.getByLabelText("Name")).toHaveFocus();
    await settle();
    expect(named("CreateAction")).toHaveLength(0);
  });

  it("creates a webhook and hands back its one-time secret", async () => {
    const onSaved = vi.fn();
    const { client, named } = clientFor({
      CreateAction: () => ({
        data: { createAction: { __typename: "ActionCreated", action: action(), secret: "whsec_abc" } },
      }),
    });
    renderWith(client, <ActionForm onSaved={onSaved} onCancel={vi.fn()} />);
    await userEvent.type(screen.getByLabelText("Name"), "Tell the team");
    await userEvent.type(screen.getByLabelText("Address"), "https://hooks.example.com/sales");
    await userEvent.click(screen.getByRole("button", { name: "Create action" }));
    await vi.waitFor(() => expect(onSaved).toHaveBeenCalled());
    expect(onSaved.mock.calls[0]?.[1]).toBe("whsec_abc");
    expect(named("CreateAction")[0]?.variables).toEqual({
      input: {
        name: "Tell the team",
        kind: "webhook",
        params: { url: "https://hooks.example.com/sales" },
        triggers: [{ type: "manual" }],
        enabled: true,
      },
    });
  });

  it("shows the server's sentence next to the field it names", async () => {
    const { client } = clientFor({
      Workbooks: workbooks,
      CreateAction: () => ({
        errors: [
          {
            // As backend/schema/actions.py words a refused input.
            message:
              "The action is not valid. input: params.to.0: Viewers send reports to their own e-mail address only.",
            path: ["createAction"],
            extensions: { code: "INVALID_INPUT", status: 422, detail: "Change these fields." },
          },
        ],
        data: null,
      }),
    });
    renderWith(client, <ActionForm onSaved={vi.fn()} onCancel={vi.fn()} />);
    await userEvent.selectOptions(screen.getByLabelText("Kind"), "report");
    await userEvent.type(screen.getByLabelText("Name"), "Daily margins");
    await userEvent.selectOptions(
      await screen.findByLabelText("Workbook"),
      await screen.findByRole("option", { name: "North branch margins" }),
    );
    await userEvent.type(screen.getByLabelText("E-mail addresses"), "ana@example.com");
    await userEvent.click(screen.getByRole("button", { name: "Create action" }));
    const to = screen.getByLabelText("E-mail addresses");
    await vi.waitFor(() =>
      expect(to).toHaveAccessibleDescription(/Viewers send reports to their own e-mail address only\./),
    );
    expect(to).toHaveFocus();
  });

  it("edits an import without ever showing its header's value", async () => {
    const onSaved = vi.fn();
    const saved = action({
      kind: "import",
      params: {
        url: "https://files.example.com/a.csv",
        datasource: "sales",
        header: { name: "Authorization", set: true },
      },
      triggers: [],
    });
    const { client, named } = clientFor({ UpdateAction: () => ({ data: { updateAction: saved } }) });
    const { draftOf } = await import("./draft");
    renderWith(
      client,
      <ActionForm
        initial={draftOf(saved)}
        editing={{ id: "a1", name: "Tell the team" }}
        onSaved={onSaved}
        onCancel={vi.fn()}
      />,
    );
    expect(screen.getByLabelText("Header value")).toHaveValue("");
    expect(screen.getByLabelText("Header value")).toHaveAccessibleDescription(
      "A value is set: leave this empty to keep it.",
    );
    expect(screen.getByText("Add a trigger: by hand, on a schedule or on an event.")).toBeVisible();
    await userEvent.click(screen.getByRole("button", { name: "Add a trigger" }));
    await userEvent.selectOptions(screen.getByLabelText("When"), "manual");
    await userEvent.click(screen.getByRole("button", { name: "Save changes" }));
    await vi.waitFor(() => expect(onSaved).toHaveBeenCalled());
    expect(named("UpdateAction")[0]?.variables.input).toMatchObject({
      params: { url: "https://files.example.com/a.csv", datasource: "sales" },
      triggers: [{ type: "manual" }],
    });
    expect(JSON.stringify(named("UpdateAction")[0]?.variables)).not.toContain("header");
  });

  it("saves an edited report unchanged with its subject and filters (issue 26)", async () => {
    const onSaved = vi.fn();
    const saved = action({
      kind: "report",
      name: "Weekly sales",
      params: {
        workbook_id: "wb1",
        to: ["boss@example.com"],
        subject: "Weekly sales",
        filters: { range: "last-7-days", branch: "A" },
      },
      triggers: [],
    });
    const { client, named } = clientFor({
      Workbooks: workbooks,
      UpdateAction: () => ({ data: { updateAction: saved } }),
    });
    const { draftOf } = await import("./draft");
    renderWith(
      client,
      <ActionForm
        initial={draftOf(saved)}
        editing={{ id: "a1", name: "Weekly sales" }}
        onSaved={onSaved}
        onCancel={vi.fn()}
      />,
    );
    await userEvent.click(screen.getByRole("button", { name: "Add a trigger" }));
    await userEvent.selectOptions(screen.getByLabelText("When"), "manual");
    await userEvent.click(screen.getByRole("button", { name: "Save changes" }));
    await vi.waitFor(() => expect(onSaved).toHaveBeenCalled());
    expect(named("UpdateAction")[0]?.variables.input).toMatchObject({
      params: {
        workbook_id: "wb1",
        to: ["boss@example.com"],
        subject: "Weekly sales",
        filters: { range: "last-7-days", branch: "A" },
      },
    });
  });

  it("offers an alert's measures in words and its datasource and column from the datasources", async () => {
    const { client } = clientFor({
      DashboardDatasources: () => ({
        data: {
          datasources: [
            {
              __typename: "Datasource",
              name: "shop",
              rowCount: 3,
              timeStart: null,
              timeEnd: null,
              columns: [
                { __typename: "DatasourceColumn", name: "Total", type: "DOUBLE" },
                { __typename: "DatasourceColumn", name: "Branch", type: "STRING" },
              ],
            },
          ],
        },
      }),
    });
    renderWith(client, <ActionForm onSaved={vi.fn()} onCancel={vi.fn()} />);
    await userEvent.selectOptions(screen.getByLabelText("Kind"), "alert");
    const measure = screen.getByLabelText("Measure");
    expect(
      within(measure)
        .getAllByRole("option")
        .map((o) => o.textContent),
    ).toEqual(["Sum of", "Average of", "Count of rows", "Number of distinct", "Smallest value of", "Largest value of"]);
    const datasource = await screen.findByRole("combobox", { name: "Datasource" });
    await userEvent.selectOptions(datasource, "shop");
    const column = await screen.findByRole("combobox", { name: "Column" });
    // Sums are of numbers: the text column is not offered.
    expect(within(column).queryByRole("option", { name: "Branch" })).toBeNull();
    await userEvent.selectOptions(column, "Total");
    expect(column).toHaveValue("Total");
    await userEvent.selectOptions(measure, "count");
    expect(screen.queryByLabelText("Column")).toBeNull();
  });

  it("lists a schedule's next times in its own zone, naming it, and says a bad one once", async () => {
    const { client } = clientFor({ DescribeSchedule: describe });
    renderWith(client, <ActionForm onSaved={vi.fn()} onCancel={vi.fn()} />);
    await userEvent.selectOptions(screen.getByLabelText("When"), "schedule");
    const zone = screen.getByLabelText("Time zone");
    await userEvent.clear(zone);
    await userEvent.type(zone, "Europe/Berlin");
    const times = await screen.findByText("The next five times:", {}, { timeout: 5000 });
    await vi.waitFor(() => expect(times.nextElementSibling).toHaveTextContent(/Mon, Dec 7, 08:00 \(Europe\/Berlin\)/));
    const cron = screen.getByLabelText("Cron expression");
    await userEvent.clear(cron);
    await userEvent.type(cron, "bad * * * *");
    const sentence = "Bad minute: a cron expression has five fields, such as 0 8 * * *.";
    await screen.findByText(sentence, {}, { timeout: 5000 });
    expect(screen.getAllByText(sentence)).toHaveLength(1);
  }, 15_000);
});
