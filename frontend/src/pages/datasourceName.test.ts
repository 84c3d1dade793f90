import { describe, expect, it } from "vitest";

import { checkDatasourceName } from "./datasourceName";

describe("checkDatasourceName", () => {
  it("says in a sentence what is wrong with a name the service would refuse", () => {
    expect(checkDatasourceName("", []).problem).toBe("Type the datasource's name, for example sales.");
    expect(checkDatasourceName("2024_sales", []).problem).toBe("A datasource name starts with a letter, not “2”.");
    expect(checkDatasourceName("my-sales data", []).problem).toBe(
      "A datasource name has only letters, digits and underscores: “-” and a space are not allowed.",
    );
    expect(checkDatasourceName(`s${"a".repeat(64)}`, []).problem).toBe(
      "A datasource name has at most 64 characters; this one has 65.",
    );
  });

  it("says whether a good name starts a datasource or adds to one", () => {
    expect(checkDatasourceName(" sales ", ["sales"])).toEqual({
      problem: null,
      note: "The file's rows will be added to the existing datasource sales.",
    });
    expect(checkDatasourceName("sales", ["sales"], true).note).toBe(
      "The file's rows will replace the rows of the existing datasource sales in the period they cover.",
    );
    expect(checkDatasourceName("sales_2024", ["sales"])).toEqual({
      problem: null,
      note: "A new datasource named sales_2024 will be created.",
    });
  });
});
