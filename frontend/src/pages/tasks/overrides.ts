// The changes a task was loaded (or previewed) with from a preview, in words: types, date order,
// renames and drops, one sentence each.

export interface TaskOverrides {
  types: unknown;
  dateOrder: string | null;
  rename: unknown;
  drop: string[];
}

function pairs(value: unknown): [string, string][] {
  if (!value || typeof value !== "object") return [];
  return Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, String(v)]);
}

function listed(items: string[]): string {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

const ORDER_WORDS: Record<string, string> = {
  day_first: "Dates were read day first (1/5/2024 is May 1).",
  month_first: "Dates were read month first (1/5/2024 is January 5).",
};

/** One sentence per kind of change; empty when there is none. */
export function overridesWords(overrides: TaskOverrides | null | undefined): string[] {
  if (!overrides) return [];
  const said: string[] = [];
  const types = pairs(overrides.types);
  if (types.length > 0) said.push(`Types chosen: ${listed(types.map(([c, t]) => `${c} as ${t}`))}.`);
  if (overrides.dateOrder) said.push(ORDER_WORDS[overrides.dateOrder] ?? `Dates were read ${overrides.dateOrder}.`);
  const renamed = pairs(overrides.rename);
  if (renamed.length > 0) said.push(`Renamed: ${listed(renamed.map(([c, n]) => `${c} to ${n}`))}.`);
  if (overrides.drop.length > 0) {
    const one = overrides.drop.length === 1;
    said.push(`Left out: ${listed(overrides.drop)} (${one ? "a column" : "columns"} of the file not loaded).`);
  }
  return said;
}
