import { describe, expect, it } from "vitest";

import { setDisplayTimeZone } from "../../format";
import {
  draftOf,
  emptyDraft,
  newTrigger,
  paramsOf,
  problemsOf,
  serverProblems,
  summaryOf,
  triggersOf,
  urlProblem,
} from "./draft";

describe("an action's draft", () => {
  it("asks for a name and a web address, and says what shape an address has", () => {
    const draft = emptyDraft("webhook");
    expect(problemsOf(draft)).toMatchObject({
      name: "Give the action a name.",
      url: "Give the address to call, such as https://example.com/hook.",
    });
    expect(urlProblem("ftp://example.com")).toBe(
      "Give an http:// or https:// address, such as https://example.com/hook.",
    );
    expect(urlProblem("https://ana:pw@example.com/x")).toBe(
      "Put credentials in a header, not in the address (user:password@).",
    );
    expect(problemsOf({ ...draft, name: "Hook", url: "https://example.com/hook" })).toEqual({});
  });

  it("checks a report's e-mail addresses one by one", () => {
    const draft = { ...emptyDraft("report"), name: "Daily", workbookId: "wb1", to: "ana@example.com, bob at example" };
    expect(problemsOf(draft).to).toBe("bob at example is not an e-mail address such as ana@example.com.");
    expect(problemsOf({ ...draft, to: "" }).to).toBe("Give e-mail addresses, a web address, or both.");
    expect(paramsOf({ ...draft, to: "ana@example.com;\nbob@example.com" })).toEqual({
      workbook_id: "wb1",
      to: ["ana@example.com", "bob@example.com"],
    });
  });

  it("sends an import's header value only when typed (a saved one is kept)", () => {
    const saved = draftOf({
      name: "Nightly",
      kind: "import",
      enabled: true,
      params: {
        url: "https://files.example.com/a.csv",
        datasource: "sales",
        header: { name: "Authorization", set: true },
      },
      triggers: [{ type: "schedule", cron: "0 2 * * *", timezone: "UTC" }],
    });
    expect(saved.headerSet).toBe(true);
    expect(saved.headerValue).toBe("");
    expect(problemsOf(saved)).toEqual({});
    expect(paramsOf(saved)).toEqual({
      url: "https://files.example.com/a.csv",
      datasource: "sales",
      mode: "append",
      on_invalid: "reject",
    });
    expect(paramsOf({ ...saved, headerValue: "Bearer t0ken" }).header).toEqual({
      name: "Authorization",
      value: "Bearer t0ken",
    });
    expect(problemsOf({ ...saved, headerSet: false }).headerValue).toBe("Give the header's value.");
    expect(problemsOf({ ...saved, source: "s3", s3Uri: "s3://Bad_Bucket" }).s3Uri).toBe(
      "Give an S3 address as s3://bucket/key or s3://bucket/prefix/.",
    );
  });

  it("builds an alert's measure and condition, and its triggers", () => {
    const draft = {
      ...emptyDraft("alert"),
      name: "Low sales",
      column: "total",
      value: "1000",
      timezone: "Europe/Paris",
      triggers: [
        { type: "schedule" as const, cron: "0 8 * * *", timezone: "Europe/Paris", event: "", datasource: "" },
        { type: "event" as const, cron: "", timezone: "", event: "task.succeeded", datasource: "sales" },
      ],
    };
    expect(paramsOf(draft)).toEqual({
      datasource: "sales",
      measure: { aggregate: "sum", column: "total" },
      window: "yesterday",
      condition: { op: "below", value: 1000 },
      timezone: "Europe/Paris",
    });
    expect(triggersOf(draft)).toEqual([
      { type: "schedule", cron: "0 8 * * *", timezone: "Europe/Paris" },
      { type: "event", event: "task.succeeded", datasource: "sales" },
    ]);
    expect(problemsOf({ ...draft, value: "lots" }).value).toBe("Give a number, such as 1000.");
  });

  it("puts the server's sentences under the fields they name", () => {
    // As backend/schema/actions.py words a refused input.
    const found = serverProblems(
      "The action is not valid. input: params.url: Give an http:// or https:// address, such as https://example.com/hook. triggers.0.schedule.cron: Bad hour.",
      "Change these fields.",
    );
    expect(found.fields).toEqual({
      url: "Give an http:// or https:// address, such as https://example.com/hook.",
      "trigger.0.cron": "Bad hour.",
    });
    expect(serverProblems("The action is not valid. params.header.name: String should match pattern.").fields).toEqual({
      headerName: "String should match pattern.",
    });
    expect(serverProblems("You may have 50 actions at most: delete one first.").rest).toEqual([
      "You may have 50 actions at most: delete one first.",
    ]);
  });

  it("says what each kind does in one sentence, an import's header as set", () => {
    expect(
      summaryOf("import", {
        url: "https://files.example.com/a.csv",
        datasource: "sales",
        mode: "replace",
        header: { name: "Authorization", set: true },
      }),
    ).toBe("Imports https://files.example.com/a.csv into sales (replace), with the header Authorization (set).");
    expect(
      summaryOf("alert", {
        datasource: "sales",
        measure: { aggregate: "sum", column: "total" },
        window: "yesterday",
        condition: { op: "change_pct", value: 20 },
      }),
    ).toBe("Fires when the sum of total of sales, yesterday, changes by more than 20 %.");
    expect(summaryOf("report", { workbook_id: "wb1", to: ["ana@example.com"], url: "https://x.example.com/r" })).toBe(
      "Sends a workbook's data as CSV to ana@example.com and to https://x.example.com/r.",
    );
  });

  it("keeps every param the form does not show when an action is saved unchanged (issue 26)", () => {
    const report = {
      name: "Weekly sales",
      kind: "report",
      enabled: true,
      params: {
        workbook_id: "wb1",
        to: ["boss@example.com"],
        subject: "Weekly sales",
        filters: { range: "last-7-days", branch: "A" },
        query: null,
        someday: { kept: true },
      },
      triggers: [],
    };
    expect(paramsOf(draftOf(report))).toEqual(report.params);
    // Only the fields the form shows are overwritten (and an emptied optional one goes).
    expect(paramsOf({ ...draftOf(report), to: "ana@example.com" })).toEqual({
      ...report.params,
      to: ["ana@example.com"],
    });
    const alert = {
      name: "Slump",
      kind: "alert",
      enabled: true,
      params: {
        datasource: "sales",
        measure: { aggregate: "sum", column: "total", label: "Total sales" },
        window: "yesterday",
        condition: { op: "below", value: 5000 },
        timezone: "Europe/Berlin",
        url: "https://hooks.example.com/a",
        filters: { branch: ["A"] },
      },
      triggers: [],
    };
    expect(paramsOf(draftOf(alert))).toEqual(alert.params);
    expect(paramsOf({ ...draftOf(alert), url: "" })).not.toHaveProperty("url");
    const imported = {
      name: "Feed",
      kind: "import",
      enabled: true,
      params: {
        url: "https://f.example.com/a.xlsx",
        datasource: "sales",
        mode: "append",
        on_invalid: "reject",
        sheet: "Data",
        max_invalid_ratio: 0.1,
        evolve: true,
      },
      triggers: [],
    };
    expect(paramsOf(draftOf(imported))).toEqual(imported.params);
  });

  it("names a measure in words, and a report its workbook", () => {
    expect(
      summaryOf("alert", {
        datasource: "sales",
        measure: { aggregate: "count" },
        window: "yesterday",
        condition: { op: "below", value: 10 },
      }),
    ).toBe("Fires when the count of rows of sales, yesterday, is below 10.");
    expect(
      summaryOf("alert", {
        datasource: "sales",
        measure: { aggregate: "count_distinct", column: "invoice" },
        window: "yesterday",
        condition: { op: "above", value: 10 },
      }),
    ).toBe("Fires when the number of distinct invoice of sales, yesterday, is above 10.");
    expect(summaryOf("report", { workbook_id: "wb1", to: ["ana@example.com"] }, "Weekly figures")).toBe(
      "Sends the data of the workbook “Weekly figures” as CSV to ana@example.com.",
    );
  });

  it("starts a new schedule and alert in the person's profile zone", () => {
    setDisplayTimeZone("Asia/Yangon");
    try {
      expect(emptyDraft("alert").timezone).toBe("Asia/Yangon");
      expect(newTrigger("schedule").timezone).toBe("Asia/Yangon");
    } finally {
      setDisplayTimeZone(null);
    }
  });
});
