// A widget's figures as a CSV file: exact values (numbers as numbers, not formatted text), cells a
// spreadsheet would run as formulas quoted, as the server's CSV files are.
export type CsvValue = string | number | boolean | null | undefined;

export interface CsvTable {
  columns: string[];
  rows: CsvValue[][];
}

const FORMULA = /^[=+@\t\r'\uff1d\uff0b\uff20\uff0d-]/;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function cell(value: CsvValue): string {
  if (value === null || value === undefined) return "";
  let text = typeof value === "number" ? String(value) : String(value);
  if (typeof value === "string" && FORMULA.test(text) && !NUMBER.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(table: CsvTable): string {
  return [table.columns, ...table.rows].map((row) => row.map(cell).join(",")).join("\n") + "\n";
}

/** Save `table` as a file named `filename` (the browser's download). */
export function downloadCsv(filename: string, table: CsvTable): void {
  const url = URL.createObjectURL(new Blob([toCsv(table)], { type: "text/csv;charset=utf-8" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** A file name from a widget's title: "Sales by branch" -> "sales-by-branch.csv". */
export function csvName(title: string): string {
  const stem = title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
  return `${stem || "figures"}.csv`;
}
