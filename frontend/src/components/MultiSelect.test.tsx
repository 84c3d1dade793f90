import { act, fireEvent, render, screen, within } from "@testing-library/react";
import { useState } from "react";
import { describe, expect, it } from "vitest";

import { MultiSelect, type Option } from "./MultiSelect";

function Menu({ label, options }: { label: string; options: Option[] }) {
  const [selected, setSelected] = useState<string[]>([]);
  return <MultiSelect label={label} options={options} selected={selected} onChange={setSelected} />;
}

function Page() {
  return (
    <>
      <p>Outside the menus</p>
      <Menu
        label="Branches"
        options={[
          { value: "C", count: 328 },
          { value: "A", count: 340 },
          { value: "B", count: 332 },
        ]}
      />
      <Menu
        label="Payments"
        options={[
          { value: "Ewallet", count: 345 },
          { value: "Cash", count: 1 },
        ]}
      />
    </>
  );
}

const menu = (label: string) => document.querySelector(`details[data-filter="${label}"]`) as HTMLDetailsElement;
const button = (label: string) => menu(label).querySelector("summary") as HTMLElement;

describe("a filter menu", () => {
  it("lists its values alphabetically with how many rows hold each", () => {
    render(<Page />);
    fireEvent.click(button("Branches"));
    const boxes = within(menu("Branches")).getAllByRole("checkbox");
    expect(boxes.map((box) => (box as HTMLInputElement).labels?.[0]?.textContent)).toEqual(["A", "B", "C"]);
    expect(screen.getByRole("checkbox", { name: "A" })).toHaveAccessibleDescription("340 rows");
  });

  it("is the only one open: opening another closes it", () => {
    render(<Page />);
    fireEvent.click(button("Branches"));
    expect(menu("Branches").open).toBe(true);
    fireEvent.click(button("Payments"));
    expect(menu("Payments").open).toBe(true);
    expect(menu("Branches").open).toBe(false);
    fireEvent.click(button("Payments"));
    expect(menu("Payments").open).toBe(false);
  });

  it("closes on a click outside it, not on one inside it", () => {
    render(<Page />);
    fireEvent.click(button("Branches"));
    fireEvent.pointerDown(screen.getByRole("checkbox", { name: "B" }));
    fireEvent.click(screen.getByRole("checkbox", { name: "B" }));
    expect(menu("Branches").open).toBe(true);
    expect(menu("Branches").querySelector(".multi-select-value")?.textContent).toBe("B");
    fireEvent.pointerDown(screen.getByText("Outside the menus"));
    expect(menu("Branches").open).toBe(false);
  });

  it("closes on Escape and gives the focus back to its button", () => {
    render(<Page />);
    fireEvent.click(button("Payments"));
    const cash = screen.getByRole("checkbox", { name: "Cash" });
    cash.focus();
    expect(screen.getByRole("checkbox", { name: "Cash" })).toHaveAccessibleDescription("1 row");
    fireEvent.keyDown(cash, { key: "Escape" });
    expect(menu("Payments").open).toBe(false);
    expect(button("Payments")).toHaveFocus();
  });

  it("moves between its values with the arrow keys", () => {
    render(<Page />);
    fireEvent.click(button("Payments"));
    const [cash, ewallet] = within(menu("Payments")).getAllByRole("checkbox");
    act(() => cash?.focus());
    fireEvent.keyDown(cash as HTMLElement, { key: "ArrowDown" });
    expect(ewallet).toHaveFocus();
    fireEvent.keyDown(ewallet as HTMLElement, { key: "ArrowDown" });
    expect(cash).toHaveFocus();
  });
});
