import {
  useEffect,
  useId,
  useRef,
  useSyncExternalStore,
  type KeyboardEvent,
  type MouseEvent,
  type RefObject,
} from "react";

import { formatCount } from "../format";

export interface Option {
  value: string;
  /** How many rows hold the value, when known. */
  count?: number | null;
}

interface Props {
  label: string;
  options: Option[];
  selected: string[];
  onChange: (values: string[]) => void;
  loading?: boolean;
}

// One menu open at a time, across the page: opening one closes the one that was open.
let openMenu: string | null = null;
const listeners = new Set<() => void>();

function setOpenMenu(id: string | null): void {
  if (openMenu === id) return;
  openMenu = id;
  listeners.forEach((listener) => listener());
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

const byName = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

/** The values in alphabetical order with their counts; chosen values the options lack are kept. */
export function sortedOptions(options: Option[], selected: string[]): Option[] {
  const seen = new Map(options.map((o) => [o.value, o]));
  for (const value of selected) if (!seen.has(value)) seen.set(value, { value });
  return [...seen.values()].sort((a, b) => byName.compare(a.value, b.value));
}

/** Closes the menu when a click lands outside it or Escape is pressed (focus back on its button). */
function useDismiss(open: boolean, id: string, root: RefObject<HTMLDetailsElement | null>) {
  useEffect(() => {
    if (!open) return;
    const onPointerDown = (event: PointerEvent) => {
      if (!root.current?.contains(event.target as Node)) setOpenMenu(null);
    };
    const onKeyDown = (event: globalThis.KeyboardEvent) => {
      if (event.key !== "Escape") return;
      setOpenMenu(null);
      root.current?.querySelector("summary")?.focus();
    };
    document.addEventListener("pointerdown", onPointerDown);
    document.addEventListener("keydown", onKeyDown);
    return () => {
      document.removeEventListener("pointerdown", onPointerDown);
      document.removeEventListener("keydown", onKeyDown);
      if (openMenu === id) setOpenMenu(null); // unmounted while open
    };
  }, [open, id, root]);
}

/** Arrow keys move between the boxes (Tab does too); Down on the button opens the menu at its first. */
function moveFocus(key: string, root: HTMLElement | null): boolean {
  if (!root || (key !== "ArrowDown" && key !== "ArrowUp")) return false;
  const boxes = [...root.querySelectorAll<HTMLInputElement>("input[type=checkbox]")];
  if (boxes.length === 0) return false;
  const at = boxes.indexOf(document.activeElement as HTMLInputElement);
  const step = key === "ArrowDown" ? 1 : -1;
  const next = at === -1 ? 0 : (at + step + boxes.length) % boxes.length;
  boxes[next]?.focus();
  return true;
}

/** A fold-out list of checkboxes ("Branches: A, B"), values in alphabetical order with how many rows
 * hold each; keyboard: Enter/Space opens, Tab or the arrows move, Escape closes. */
export function MultiSelect({ label, options, selected, onChange, loading = false }: Props) {
  const id = useId();
  const root = useRef<HTMLDetailsElement>(null);
  const open = useSyncExternalStore(subscribe, () => openMenu === id);
  useDismiss(open, id, root);
  const summary = selected.length === 0 ? "all" : selected.join(", ");
  const values = sortedOptions(options, selected);
  function toggle(value: string, on: boolean) {
    onChange(on ? [...selected, value] : selected.filter((v) => v !== value));
  }
  const onSummaryClick = (event: MouseEvent) => {
    event.preventDefault(); // the open state is ours: one menu at a time
    setOpenMenu(open ? null : id);
  };
  const onKeyDown = (event: KeyboardEvent<HTMLDetailsElement>) => {
    if (!open && event.key === "ArrowDown" && event.target === root.current?.querySelector("summary")) {
      event.preventDefault();
      setOpenMenu(id);
      requestAnimationFrame(() => moveFocus("ArrowDown", root.current));
      return;
    }
    if (open && moveFocus(event.key, root.current)) event.preventDefault();
  };
  return (
    <details className="multi-select" data-filter={label} open={open} ref={root} onKeyDown={onKeyDown}>
      <summary onClick={onSummaryClick}>
        <span className="multi-select-label">{label}</span>
        <span className="multi-select-value">{summary}</span>
      </summary>
      <fieldset>
        <legend className="visually-hidden">{label}</legend>
        {loading && values.length === 0 ? <p role="status">Loading…</p> : null}
        {!loading && values.length === 0 ? <p>No values in this datasource.</p> : null}
        {values.map(({ value, count }, index) => (
          <div className="check" key={value}>
            <input
              type="checkbox"
              id={`${id}-${index}`}
              checked={selected.includes(value)}
              aria-describedby={count !== null && count !== undefined ? `${id}-${index}-count` : undefined}
              onChange={(event) => toggle(value, event.target.checked)}
            />
            <label htmlFor={`${id}-${index}`}>{value}</label>
            {count !== null && count !== undefined ? (
              <span className="multi-select-count" id={`${id}-${index}-count`}>
                {formatCount(count, "row")}
              </span>
            ) : null}
          </div>
        ))}
        {selected.length > 0 ? (
          <button type="button" className="link-button" onClick={() => onChange([])}>
            Clear {label.toLowerCase()}
          </button>
        ) : null}
      </fieldset>
    </details>
  );
}
