// The datasource name as the Upload page checks it while it is typed: the service's own rules
// (backend/ingestion/uploads.py, DATASOURCE_PATTERN: a letter, then up to 63 letters, digits or
// underscores), said in a sentence, and whether the file starts a datasource or adds to one.

export const MAX_NAME_CHARS = 64;
const ALLOWED = /^[A-Za-z0-9_]$/;

export interface NameCheck {
  /** What is wrong with the name, as a sentence; null when the service would take it. */
  problem: string | null;
  /** For a good name: what the upload will do with it. */
  note: string | null;
}

function shown(char: string): string {
  return char === " " ? "a space" : `“${char}”`;
}

function listed(items: string[]): string {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

function problemOf(name: string): string | null {
  if (!name) return "Type the datasource's name, for example sales.";
  const first = name[0] ?? "";
  if (!/^[A-Za-z]$/.test(first)) return `A datasource name starts with a letter, not ${shown(first)}.`;
  const others = [...new Set([...name].filter((c) => !ALLOWED.test(c)))];
  if (others.length > 0) {
    const verb = others.length === 1 ? "is" : "are";
    return `A datasource name has only letters, digits and underscores: ${listed(others.map(shown))} ${verb} not allowed.`;
  }
  if (name.length > MAX_NAME_CHARS) {
    return `A datasource name has at most ${MAX_NAME_CHARS} characters; this one has ${name.length}.`;
  }
  return null;
}

/** The typed name (spaces around it are dropped, as the service does) against the service's
 * rules and the datasources that exist. */
export function checkDatasourceName(typed: string, existing: readonly string[], replace = false): NameCheck {
  const name = typed.trim();
  const problem = problemOf(name);
  if (problem) return { problem, note: null };
  if (!existing.includes(name)) return { problem: null, note: `A new datasource named ${name} will be created.` };
  return {
    problem: null,
    note: replace
      ? `The file's rows will replace the rows of the existing datasource ${name} in the period they cover.`
      : `The file's rows will be added to the existing datasource ${name}.`,
  };
}
