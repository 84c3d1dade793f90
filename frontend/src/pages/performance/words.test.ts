import { describe, expect, it } from "vitest";

import { accessLogRange, componentName, reachedStages, sourceName, stageName } from "./words";

describe("the Status and Performance pages' words", () => {
  it("names the service's parts as a person knows them", () => {
    expect(componentName("database")).toBe("Records database");
    expect(componentName("workers")).toBe("Background workers");
    expect(componentName("something-new")).toBe("something-new");
    expect(sourceName("metadata", "sqlite")).toBe("Records database (SQLite)");
    expect(sourceName("storage", "s3")).toBe("File storage (S3)");
    expect(sourceName("druid", "druid")).toBe("Apache Druid");
  });

  it("shows only the stages a run reached: no Druid stage when Druid is off", () => {
    const stages = [
      { stage: "queued", seconds: 0.1 },
      { stage: "validating", seconds: 1.5 },
      { stage: "loading", seconds: 0.4 },
      { stage: "druid_submitting", seconds: null },
      { stage: "druid_indexing", seconds: null },
      { stage: "druid_loading", seconds: null },
    ];
    expect(reachedStages(stages).map((s) => stageName(s.stage))).toEqual([
      "Waiting for a worker",
      "Checking the rows",
      "Storing",
    ]);
  });

  it("says where a page of the access log stands", () => {
    expect(accessLogRange(57, 20, 20, "")).toBe("Entries 21 to 40 of 57 in all.");
    expect(accessLogRange(1, 0, 1, "ali")).toBe("Entry 1 of 1 starting with “ali”.");
    expect(accessLogRange(0, 0, 0, "zz")).toBe("No entry's person, action or target starts with “zz”.");
    expect(accessLogRange(0, 0, 0, "")).toBe("The access log is empty.");
  });
});
