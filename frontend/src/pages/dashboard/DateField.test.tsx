import { fireEvent, render, screen } from "@testing-library/react";
import { useState } from "react";
import { describe, expect, it, vi } from "vitest";

import { DateField, plausibleDay } from "./DateField";

function Harness({ onCommit, initial = null }: { onCommit: (value: string | null) => void; initial?: string | null }) {
  const [value, setValue] = useState<string | null>(initial);
  return (
    <DateField
      id="from"
      label="From"
      value={value}
      onCommit={(next) => {
        onCommit(next);
        setValue(next);
      }}
    />
  );
}

describe("a date typed into the filters", () => {
  it("changes the view once, when the date is whole, not at each digit of its year", () => {
    const onCommit = vi.fn();
    render(<Harness onCommit={onCommit} />);
    const field = screen.getByLabelText("From");
    // 02012019 typed into Chromium's date field: the year grows 0002, 0020, 0201, 2019.
    for (const value of ["0002-02-01", "0020-02-01", "0201-02-01", "2019-02-01"]) {
      fireEvent.change(field, { target: { value } });
    }
    expect(onCommit.mock.calls).toEqual([["2019-02-01"]]);
    fireEvent.blur(field);
    expect(onCommit).toHaveBeenCalledTimes(1); // leaving the field adds nothing
  });

  it("keeps the shown date and says what to type when an unlikely date is left behind", () => {
    const onCommit = vi.fn();
    render(<Harness onCommit={onCommit} initial="2019-01-05" />);
    const field = screen.getByLabelText("From");
    fireEvent.change(field, { target: { value: "0019-01-05" } });
    fireEvent.blur(field);
    expect(onCommit).not.toHaveBeenCalled();
    expect(field).toHaveValue("2019-01-05");
    expect(screen.getByRole("status")).toHaveTextContent("Type a whole date between 1900 and 2100");
  });

  it("clears the filter when the field is emptied", () => {
    const onCommit = vi.fn();
    render(<Harness onCommit={onCommit} initial="2019-01-05" />);
    const field = screen.getByLabelText("From");
    fireEvent.change(field, { target: { value: "" } });
    fireEvent.keyDown(field, { key: "Enter" });
    expect(onCommit.mock.calls).toEqual([[null]]);
  });

  it("knows a plausible sales day", () => {
    expect(plausibleDay("2019-02-01")).toBe(true);
    expect(plausibleDay("0001-02-01")).toBe(false);
    expect(plausibleDay("20190-02-01")).toBe(false);
    expect(plausibleDay("2019-02-1")).toBe(false);
  });
});

describe("the dashboard's filter bar", () => {
  it("sends one change for a typed date, not one per digit", async () => {
    const { FilterBar } = await import("./FilterBar");
    const { Provider } = await import("urql");
    const { never } = await import("wonka");
    const client = { executeQuery: () => never, executeMutation: () => never, executeSubscription: () => never };
    const onChange = vi.fn();
    const filters = {
      datasource: "sales",
      dateFrom: null,
      dateTo: null,
      branches: [],
      productLines: [],
      customerTypes: [],
      genders: [],
      payments: [],
      range: null,
    };
    render(
      <Provider value={client as never}>
        <FilterBar filters={filters} onChange={onChange} />
      </Provider>,
    );
    const field = screen.getByLabelText("From");
    for (const value of ["0002-02-01", "0020-02-01", "0201-02-01", "2019-02-01"]) {
      fireEvent.change(field, { target: { value } });
    }
    expect(onChange.mock.calls.map(([next]) => next.dateFrom)).toEqual(["2019-02-01"]);
  });
});
