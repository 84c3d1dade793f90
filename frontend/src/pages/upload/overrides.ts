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
  /** The datasource to load into ("Load into"); unset: the preview's. */
  datasource?: string | null;
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

/** The datasource Load sends the file to: the person's choice, else the preview's. */
export function loadInto(edits: Edits, previewed: string): string {
  return (edits.datasource ?? previewed).trim();
}

/** Why the column types cannot be chosen (a sentence), or null when they can: the preview's
 * datasource has a contract or rows (the service says why), another datasource that exists has
 * its types already, and a new datasource takes the types the file gets. */
export function typesFixed(
  preview: Preview,
  previewed: string,
  target: string,
  existing: readonly string[],
): string | null {
  if (target !== previewed) {
    if (!existing.includes(target)) return null;
    return `The datasource ${target} already exists: its column types are fixed, only the date order can change.`;
  }
  if (!preview.schema_fixed) return null;
  return preview.schema_fixed_why ?? "This datasource's column types are fixed: only the date order can change.";
}

/** The columns an earlier preview showed that `next` no longer has (they were dropped): still
 * listed, so that a drop can be taken back. */
export function carriedDropped(
  earlier: { preview: Preview; dropped: readonly PreviewColumn[] } | null,
  next: Preview,
): PreviewColumn[] {
  if (!earlier) return [];
  const shown = new Set(next.columns.map((c) => c.source_name));
  const seen = new Set<string>();
  return [...earlier.preview.columns, ...earlier.dropped].filter((c) => {
    if (shown.has(c.source_name) || seen.has(c.source_name)) return false;
    seen.add(c.source_name);
    return true;
  });
}

/** What a person sends; `fixedTypes`: the types cannot change there, so none is sent. */
export function overrides(edits: Edits, preview: Preview, fixedTypes = false): Overrides {
  const rename = Object.fromEntries(
    Object.entries(edits.rename)
      .map(([column, name]) => [column, name.trim()] as const)
      .filter(([column, name]) => name !== "" && name !== column),
  );
  const out: Overrides = {
    types: fixedTypes ? {} : { ...edits.types },
    date_order: edits.dateOrder,
    rename,
    drop: [...edits.drop],
  };
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

/** Why a Load (or Preview again) failed, in words beside its button; the choices stay on screen. */
export function refusedWords(dryRun: boolean, error: { message: string; plainDetail?: string | null } | null): string {
  const what = dryRun ? "Preview again" : "Load";
  const why = error?.message.trim().replace(/[.\s]+$/, "") ?? "its task failed";
  const detail = error?.plainDetail ? ` ${error.plainDetail.trim()}` : "";
  return (
    `${what} was refused: ${why}.${detail} Your choices are kept: change them, or the datasource in Load into, ` +
    `then press ${what} again.`
  );
}
