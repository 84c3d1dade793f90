import { useEffect, useEffectEvent, useId, useState } from "react";
import { useSearchParams } from "react-router";
import { useQuery } from "urql";

import { Widget } from "../../components/Widget";
import { formatInteger } from "../../format";
import { useDocumentTitle } from "../../hooks/useDocumentTitle";
import { useWidgetQuery } from "../../hooks/useWidgetQuery";
import { isFiltered, PAGE_SIZE, readFilters, SORTS, toVariables, writeFilters, type WorkbookFilters } from "./params";
import { WorkbookTagsQuery, WorkbooksQuery } from "./queries";
import { ImportWorkbook } from "./ImportWorkbook";
import { WorkbookCard } from "./WorkbookCard";
import { WorkbookFeed } from "./WorkbookFeed";

const SEARCH_DELAY_MS = 300;
const SORT_LABELS: Record<(typeof SORTS)[number], string> = {
  recent: "Recently changed",
  popular: "Popular (30 days)",
  title: "Title",
};

/** The search box: the URL follows what is typed after a pause, and the box follows the URL. */
function SearchBox({ value, onSearch }: { value: string; onSearch: (q: string) => void }) {
  const id = useId();
  const [text, setText] = useState(value);
  const [shown, setShown] = useState(value);
  if (value !== shown) {
    setShown(value); // the URL changed (back button, a link): show it
    setText(value);
  }
  const search = useEffectEvent(onSearch);
  useEffect(() => {
    if (text.trim() === value) return undefined;
    const timer = window.setTimeout(() => search(text.trim()), SEARCH_DELAY_MS);
    return () => window.clearTimeout(timer);
  }, [text, value]);
  return (
    <div className="field workbook-search">
      <label htmlFor={id}>Search</label>
      <input id={id} type="search" value={text} onChange={(e) => setText(e.target.value)} />
    </div>
  );
}

function TagChips({ selected, onToggle }: { selected: string[]; onToggle: (tag: string) => void }) {
  const [result] = useQuery({ query: WorkbookTagsQuery });
  const tags = result.data?.workbookTags ?? [];
  const names = [...new Set([...tags.map((t) => t.name), ...selected])];
  if (names.length === 0) return null;
  const counts = new Map(tags.map((t) => [t.name, t.count]));
  return (
    <ul className="tag-chips" aria-label="Tags">
      {names.map((name) => (
        <li key={name}>
          <button type="button" className="chip" aria-pressed={selected.includes(name)} onClick={() => onToggle(name)}>
            {name}
            {counts.has(name) ? <span className="chip-count"> ({formatInteger(counts.get(name))})</span> : null}
          </button>
        </li>
      ))}
    </ul>
  );
}

/** "Showing 1 to 24 of 30 workbooks.", in the singular when there is one. */
export function showingText(first: number, count: number, total: number): string {
  if (count === total) return total === 1 ? "Showing 1 workbook." : `Showing all ${formatInteger(total)} workbooks.`;
  if (count === 1) return `Showing workbook ${formatInteger(first + 1)} of ${formatInteger(total)}.`;
  return `Showing ${formatInteger(first + 1)} to ${formatInteger(first + count)} of ${formatInteger(total)} workbooks.`;
}

function emptyText(filters: WorkbookFilters): string {
  if (filters.favorites && !filters.q && filters.tags.length === 0 && !filters.author) {
    return "You have no favorite workbooks yet. Select the star on a workbook to keep it here.";
  }
  if (isFiltered(filters)) return "No workbook matches this search. Remove a filter or try other words.";
  return "No workbooks yet. Open the dashboard and choose Save as workbook.";
}

function Filters({ filters, update }: { filters: WorkbookFilters; update: (c: Partial<WorkbookFilters>) => void }) {
  const id = useId();
  const setAuthor = (value: string) => {
    if (value.trim() !== filters.author) update({ author: value.trim() });
  };
  return (
    <form className="toolbar" aria-label="Workbook filters" onSubmit={(e) => e.preventDefault()}>
      <SearchBox value={filters.q} onSearch={(q) => update({ q })} />
      <div className="field">
        <label htmlFor={`${id}-sort`}>Sort by</label>
        <select
          id={`${id}-sort`}
          value={filters.sort}
          onChange={(e) => update({ sort: e.target.value as WorkbookFilters["sort"] })}
        >
          {SORTS.map((sort) => (
            <option key={sort} value={sort}>
              {SORT_LABELS[sort]}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor={`${id}-author`}>Author</label>
        <input
          id={`${id}-author`}
          key={filters.author}
          defaultValue={filters.author}
          placeholder="a user's handle"
          onBlur={(e) => setAuthor(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter") setAuthor(e.currentTarget.value);
          }}
        />
      </div>
      <label className="check">
        <input type="checkbox" checked={filters.favorites} onChange={(e) => update({ favorites: e.target.checked })} />
        Favorites only
      </label>
    </form>
  );
}

export default function WorkbooksPage() {
  useDocumentTitle("Workbooks");
  const [params, setParams] = useSearchParams();
  const filters = readFilters(params);
  const update = (change: Partial<WorkbookFilters>) => {
    const next = { ...filters, page: 0, ...change };
    setParams(writeFilters(next), { replace: "q" in change && Object.keys(change).length === 1 });
  };
  const toggleTag = (tag: string) =>
    update({ tags: filters.tags.includes(tag) ? filters.tags.filter((t) => t !== tag) : [...filters.tags, tag] });
  const q = useWidgetQuery(WorkbooksQuery, toVariables(filters));
  const [imports, setImports] = useState(0);
  const page = q.data?.workbooks;
  const items = page?.items ?? [];
  const first = filters.page * PAGE_SIZE;
  return (
    <>
      <h1>Workbooks</h1>
      <ImportWorkbook
        onImported={() => {
          setImports((n) => n + 1);
          q.refetch();
        }}
      />
      <Filters filters={filters} update={update} />
      <TagChips selected={filters.tags} onToggle={toggleTag} />
      {!isFiltered(filters) && filters.page === 0 ? <WorkbookFeed generation={imports} /> : null}
      <Widget
        title={isFiltered(filters) ? "Matching workbooks" : "All workbooks"}
        fetching={q.fetching}
        error={q.error}
        hasData={q.hasData}
        empty={items.length === 0}
        emptyText={emptyText(filters)}
        onRetry={q.refetch}
      >
        <p className="muted" role="status">
          {showingText(first, items.length, page?.total ?? 0)}
        </p>
        <div className="workbook-grid">
          {items.map((workbook) => (
            <WorkbookCard key={workbook.id} workbook={workbook} />
          ))}
        </div>
      </Widget>
      <nav className="toolbar" aria-label="Pages of workbooks">
        <button type="button" disabled={filters.page === 0} onClick={() => update({ page: filters.page - 1 })}>
          Previous
        </button>
        <span>Page {formatInteger(filters.page + 1)}</span>
        <button
          type="button"
          disabled={page?.nextOffset === null || page?.nextOffset === undefined}
          onClick={() => update({ page: filters.page + 1 })}
        >
          Next
        </button>
      </nav>
    </>
  );
}
