// Colours keyed by category, not by rank: a value keeps its colour whatever its place in a
// chart, so "Member" is the same colour with or without a filter that reorders the slices.
export const PALETTE = ["#1d4ed8", "#b45309", "#047857", "#7c3aed", "#be123c", "#0e7490", "#4d7c0f", "#9d174d"];

// The sales data's known values, each with a colour of its own within its dimension.
const KNOWN: Record<string, string[]> = {
  branch: ["A", "B", "C"],
  city: ["Yangon", "Mandalay", "Naypyitaw"],
  customerType: ["Member", "Normal"],
  gender: ["Female", "Male"],
  payment: ["Cash", "Credit card", "Ewallet"],
  productLine: [
    "Electronic accessories",
    "Health and beauty",
    "Home and lifestyle",
    "Sports and travel",
    "Food and beverages",
    "Fashion accessories",
  ],
};

/** A stable number for a text (FNV-1a): the same value always gets the same colour. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The colour of `value` in `dimension`: fixed for the known values, derived from the value's
 * text for any other, never from its position among the values shown. */
export function colourFor(dimension: string, value: string): string {
  const known = KNOWN[dimension]?.indexOf(value) ?? -1;
  const index = known >= 0 ? known : hash(`${dimension}\u0000${value}`);
  return PALETTE[index % PALETTE.length] ?? "#1d4ed8";
}
