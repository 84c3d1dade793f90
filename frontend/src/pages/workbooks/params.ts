// The Workbooks page's state lives in its URL (q, tag, sort, fav, author, page): a search can be
// shared, reloaded and walked back with the browser's buttons.
import type { WorkbooksQueryVariables } from "../../gql/graphql";

export const SORTS = ["recent", "popular", "title"] as const;
export type Sort = (typeof SORTS)[number];
export const PAGE_SIZE = 24;

export interface WorkbookFilters {
  q: string;
  tags: string[];
  sort: Sort;
  favorites: boolean;
  author: string;
  page: number;
}

export function readFilters(params: URLSearchParams): WorkbookFilters {
  const sort = params.get("sort") as Sort | null;
  const tags = [...new Set(params.getAll("tag").filter((tag) => tag.trim() !== ""))];
  return {
    q: (params.get("q") ?? "").trim(),
    tags,
    sort: sort && SORTS.includes(sort) ? sort : "recent",
    favorites: params.get("fav") === "1",
    author: (params.get("author") ?? "").trim(),
    page: Math.max(0, Number.parseInt(params.get("page") ?? "0", 10) || 0),
  };
}

/** Whether anything narrows the list (the sort and the page do not). */
export function isFiltered(filters: WorkbookFilters): boolean {
  return filters.q !== "" || filters.tags.length > 0 || filters.favorites || filters.author !== "";
}

export function toVariables(filters: WorkbookFilters): WorkbooksQueryVariables {
  return {
    q: filters.q || null,
    tags: filters.tags.length > 0 ? filters.tags : null,
    author: filters.author || null,
    favorites: filters.favorites,
    sort: filters.sort,
    limit: PAGE_SIZE,
    offset: filters.page * PAGE_SIZE,
  };
}

/** The URL for `filters`; any change other than the page goes back to the first page. */
export function writeFilters(filters: WorkbookFilters): URLSearchParams {
  const next = new URLSearchParams();
  if (filters.q) next.set("q", filters.q);
  for (const tag of filters.tags) next.append("tag", tag);
  if (filters.sort !== "recent") next.set("sort", filters.sort);
  if (filters.favorites) next.set("fav", "1");
  if (filters.author) next.set("author", filters.author);
  if (filters.page > 0) next.set("page", String(filters.page));
  return next;
}

/** Two letters for an avatar: "Alice Martin" -> "AM", "bob" -> "BO". */
export function initials(name: string): string {
  const words = name
    .trim()
    .split(/[\s._-]+/)
    .filter(Boolean);
  if (words.length === 0) return "?";
  if (words.length === 1) return words[0]!.slice(0, 2).toUpperCase();
  return (words[0]![0]! + words[words.length - 1]![0]!).toUpperCase();
}
