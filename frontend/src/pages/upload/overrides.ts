// What a person changed on a preview, kept as their choices only (what they did not touch stays
// the service's guess), and the overrides sent with Load or Preview again. Choices are kept across
// "Preview again", so Load sends all of them. Columns are named by the file's header names.
import type { DateOrder, Overrides, Preview, PreviewColumn } from "./api";

export interface Edits {
  types: Record<string, string>;
  rename: Record<string, string>;
  drop: string[];
  dateOrder: DateOrder | null;
  /** The time column's header name in the file. */
  timeColumn: string | null;
}

export const NO_EDITS: Edits = { types: {}, rename: {}, drop: [], dateOrder: null, timeColumn: null };

export function columnType(edits: Edits, column: PreviewColumn): string {
  return edits.types[column.source_name] ?? column.type;
}

/** The name the column is stored under: the person's new name, else the preview's. */
export function storedName(edits: Edits, column: PreviewColumn): string {
  const renamed = edits.rename[column.source_name]?.trim();
  return renamed ? renamed : column.name;
}

export function dateOrder(edits: Edits, preview: Preview): DateOrder {
  return edits.dateOrder ?? preview.date_order ?? "month_first";
}

/** The header name of the time column: the person's choice, else the preview's. */
export function timeColumn(edits: Edits, preview: Preview): string | null {
  if (edits.timeColumn) return edits.timeColumn;
  const chosen = preview.columns.find((c) => c.name === preview.time_column || c.source_name === preview.time_column);
  return chosen?.source_name ?? null;
}

export function overrides(edits: Edits, preview: Preview): Overrides {
  const rename = Object.fromEntries(
    Object.entries(edits.rename)
      .map(([column, name]) => [column, name.trim()] as const)
      .filter(([column, name]) => name !== "" && name !== column),
  );
  const out: Overrides = { types: { ...edits.types }, date_order: edits.dateOrder, rename, drop: [...edits.drop] };
  if (edits.timeColumn) {
    const column = preview.columns.find((c) => c.source_name === edits.timeColumn);
    // The time column as it is stored, after a rename.
    out.time_column = column ? storedName(edits, column) : edits.timeColumn;
  }
  return out;
}

/** A sentence when the choices cannot be sent as they are, else null. */
export function problem(edits: Edits, preview: Preview): string | null {
  const kept = preview.columns.filter((c) => !edits.drop.includes(c.source_name));
  if (kept.length === 0) return "Keep at least one column: untick Drop on one of them.";
  const names = kept.map((c) => storedName(edits, c));
  const twice = names.find((name, index) => names.indexOf(name) !== index);
  if (twice) return `Two columns would be named ${twice}: rename one of them.`;
  const time = timeColumn(edits, preview);
  if (time && edits.drop.includes(time)) {
    return `The time column ${time} cannot be dropped: choose another time column or untick Drop.`;
  }
  return null;
}
