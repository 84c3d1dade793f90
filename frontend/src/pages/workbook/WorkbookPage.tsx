import { useEffect, useMemo, useReducer, useRef, useState } from "react";
import { useNavigate, useParams } from "react-router";
import { useMutation, useQuery } from "urql";

import { ErrorMessage } from "../../components/ErrorMessage";
import { formatInteger } from "../../format";
import { useDocumentTitle } from "../../hooks/useDocumentTitle";
import type { DashboardFilters } from "../dashboard/filters";
import { FilterBar } from "../dashboard/FilterBar";
import { useToday } from "../dashboard/useToday";
import { AddWidgetForm } from "./AddWidgetForm";
import { copyWorkbook } from "./api";
import { ConflictDialog, isConflict } from "./ConflictDialog";
import { DetailsDialog, type Details } from "./DetailsDialog";
import { EditBar } from "./EditBar";
import { ExportButton } from "./ExportButton";
import { editReducer, initialEdit, widgetsOf } from "./editReducer";
import { dashboardFilters, documentFilters, filterDocs } from "./filters";
import {
  CreateWorkbookMutation,
  FavoriteWorkbookMutation,
  UpdateWorkbookMutation,
  ViewWorkbookMutation,
  WorkbookQuery,
} from "./queries";
import { parseFilters, parseWidgets, type Visibility, type WorkbookDocument } from "./types";
import { WorkbookWidget } from "./WorkbookWidget";
import "./workbook.css";

export interface LoadedWorkbook {
  id: string;
  title: string;
  description: string;
  datasource: string;
  filters: unknown;
  widgets: unknown;
  tags: string[];
  visibility: string;
  sharedWith: string[];
  owner: string;
  version: number;
  views: number;
  favorited: boolean;
}

export interface Me {
  name: string;
  role?: string | null;
}

/** The owner and admins change a workbook; everyone else only reads it. */
export function mayEdit(workbook: { owner: string }, me: Me | null | undefined): boolean {
  return !!me && (me.role === "admin" || me.name === workbook.owner);
}

type Dialog = "saveAs" | "share" | "conflict" | null;

interface ViewProps {
  workbook: LoadedWorkbook;
  me: Me | null;
  views: number;
  onReload: () => void;
  /** What the server answered a save with (shown at once, before the page is read again). */
  onSaved: (workbook: LoadedWorkbook) => void;
}

/** A loaded workbook: its header, its filters and its widgets; edit mode for its owner or an admin. */
export function WorkbookView({ workbook, me, views, onReload, onSaved }: ViewProps) {
  const navigate = useNavigate();
  const canEdit = mayEdit(workbook, me);
  const saved = useMemo(() => parseWidgets(workbook.widgets), [workbook.widgets]);
  const [filters, setFilters] = useState<DashboardFilters>(() =>
    dashboardFilters(parseFilters(workbook.filters), workbook.datasource),
  );
  const today = useToday(); // a relative range counts from today in the profile's time zone
  const docs = useMemo(() => filterDocs(filters, today), [filters, today]);
  const [editing, setEditing] = useState(false);
  const [edit, dispatch] = useReducer(editReducer, saved, initialEdit);
  const [focus, setFocus] = useState<{ key: string; which: "up" | "down" } | null>(null);
  const [dialog, setDialog] = useState<Dialog>(null);
  const [saveError, setSaveError] = useState<unknown>(null);
  const [dialogError, setDialogError] = useState<unknown>(null);
  const [exportError, setExportError] = useState<unknown>(null);
  const [, update] = useMutation(UpdateWorkbookMutation);
  const [, create] = useMutation(CreateWorkbookMutation);
  const [favorite, setFavorite] = useMutation(FavoriteWorkbookMutation);
  const [busy, setBusy] = useState(false);
  const widgets = editing ? widgetsOf(edit) : saved;

  const document = (title: string, visibility: Visibility = "private"): WorkbookDocument => ({
    title,
    description: workbook.description,
    datasource: workbook.datasource,
    filters: documentFilters(filters),
    widgets,
    tags: workbook.tags,
    visibility,
    shared_with: [],
  });

  async function save() {
    setBusy(true);
    setSaveError(null);
    const edits = { version: workbook.version, widgets: widgetsOf(edit), filters: documentFilters(filters) };
    const result = await update({ id: workbook.id, edit: edits });
    setBusy(false);
    if (!result.error) {
      setEditing(false);
      if (result.data) onSaved(result.data.updateWorkbook);
      return;
    }
    setSaveError(result.error);
    if (isConflict(result.error)) setDialog("conflict");
  }

  async function saveCopy(title: string) {
    setBusy(true);
    setDialogError(null);
    try {
      const copied = editing && edit.dirty ? null : await copyWorkbook(workbook.id, title);
      if (copied) return navigate(`/workbooks/${copied.id}`);
      const result = await create({ workbook: document(title) });
      if (result.error) throw result.error;
      if (result.data) void navigate(`/workbooks/${result.data.createWorkbook.id}`);
    } catch (error) {
      setDialogError(error);
      if (dialog === "conflict") setSaveError(error);
    } finally {
      setBusy(false);
    }
  }

  async function share(details: Details) {
    setBusy(true);
    setDialogError(null);
    const edits = { version: workbook.version, visibility: details.visibility, shared_with: details.shared_with };
    const result = await update({ id: workbook.id, edit: edits });
    setBusy(false);
    if (result.error) return setDialogError(result.error);
    setDialog(null);
    if (result.data) onSaved(result.data.updateWorkbook);
  }

  const closeDialog = () => {
    setDialog(null);
    setDialogError(null);
  };

  return (
    <>
      <header className="wb-header">
        <h1>{workbook.title}</h1>
        <p className="wb-meta">
          By <span data-testid="workbook-owner">{workbook.owner}</span> ·{" "}
          <span data-testid="workbook-views">
            {formatInteger(views)} {views === 1 ? "view" : "views"}
          </span>{" "}
          ·{" "}
          {workbook.visibility === "private"
            ? "private"
            : workbook.visibility === "shared"
              ? "shared with everyone"
              : `shared with ${workbook.sharedWith.join(", ")}`}
        </p>
        {workbook.description ? <p>{workbook.description}</p> : null}
        {workbook.tags.length > 0 ? (
          <ul className="wb-tags" aria-label="Tags">
            {workbook.tags.map((t) => (
              <li key={t}>{t}</li>
            ))}
          </ul>
        ) : null}
        <div className="wb-actions">
          <button
            type="button"
            aria-pressed={workbook.favorited}
            disabled={favorite.fetching}
            onClick={() => void setFavorite({ id: workbook.id, favorite: !workbook.favorited })}
          >
            <span aria-hidden="true">{workbook.favorited ? "★" : "☆"}</span> Favorite
          </button>
          <button type="button" onClick={() => setDialog("saveAs")}>
            Save as
          </button>
          <ExportButton workbookId={workbook.id} onError={setExportError} />
          {canEdit && !editing ? (
            <>
              <button type="button" onClick={() => setDialog("share")}>
                Share
              </button>
              <button
                type="button"
                onClick={() => {
                  dispatch({ type: "reset", widgets: saved });
                  setEditing(true);
                }}
              >
                Edit layout
              </button>
            </>
          ) : null}
          {canEdit && editing ? (
            <>
              <button type="button" className="primary" onClick={() => void save()} disabled={busy}>
                Save
              </button>
              <button
                type="button"
                onClick={() => {
                  setEditing(false);
                  setSaveError(null);
                }}
              >
                Cancel editing
              </button>
            </>
          ) : null}
        </div>
        {favorite.error ? <ErrorMessage error={favorite.error} what="The favorite could not be changed" /> : null}
        {exportError ? <ErrorMessage error={exportError} what="The workbook could not be exported" /> : null}
        {saveError && !isConflict(saveError) ? (
          <ErrorMessage error={saveError} what="The workbook could not be saved" />
        ) : null}
      </header>
      <FilterBar filters={filters} onChange={(next) => setFilters({ ...next, datasource: workbook.datasource })} />
      {editing ? (
        <AddWidgetForm datasource={workbook.datasource} onAdd={(widget) => dispatch({ type: "add", widget })} />
      ) : null}
      {widgets.length === 0 ? <p>This workbook has no widgets yet.</p> : null}
      <div className="wb-grid">
        {widgets.map((widget, index) => {
          const item = editing ? edit.items[index] : undefined;
          return (
            <div
              key={item?.key ?? `saved-${index}`}
              className="wb-cell"
              data-testid="workbook-widget"
              style={{ gridColumn: `span ${widget.size.width}`, minHeight: `${widget.size.height * 4}rem` }}
            >
              {item ? (
                <EditBar
                  item={item}
                  index={index}
                  count={widgets.length}
                  dispatch={dispatch}
                  focus={focus}
                  onMoved={(key, which) => setFocus({ key, which })}
                />
              ) : null}
              <WorkbookWidget
                widget={widget}
                filters={docs}
                workbookId={editing && edit.dirty ? null : workbook.id}
                index={index}
              />
            </div>
          );
        })}
      </div>
      {dialog === "conflict" ? (
        <ConflictDialog
          error={saveError}
          busy={busy}
          onReload={() => {
            closeDialog();
            setSaveError(null);
            onReload();
          }}
          onSaveCopy={() => void saveCopy(`Copy of ${workbook.title}`.slice(0, 200))}
          onClose={closeDialog}
        />
      ) : null}
      {dialog === "saveAs" ? (
        <DetailsDialog
          open
          title="Save as a new workbook"
          submitLabel="Save the copy"
          fields="title"
          initial={{
            title: `Copy of ${workbook.title}`.slice(0, 200),
            description: "",
            tags: [],
            visibility: "private",
            shared_with: [],
          }}
          busy={busy}
          error={dialogError}
          onSubmit={(details) => void saveCopy(details.title)}
          onClose={closeDialog}
        />
      ) : null}
      {dialog === "share" ? (
        <DetailsDialog
          open
          title="Share this workbook"
          submitLabel="Share"
          fields="sharing"
          initial={{
            title: workbook.title,
            description: workbook.description,
            tags: workbook.tags,
            visibility: workbook.visibility as Visibility,
            shared_with: workbook.sharedWith,
          }}
          busy={busy}
          error={dialogError}
          onSubmit={(details) => void share(details)}
          onClose={closeDialog}
        />
      ) : null}
    </>
  );
}

export default function WorkbookPage() {
  const { id = "" } = useParams();
  const [result, reexecute] = useQuery({ query: WorkbookQuery, variables: { id } });
  const [viewed, recordView] = useMutation(ViewWorkbookMutation);
  const recorded = useRef<string | null>(null);
  // The last save's answer, until the page read again is at least as new.
  const [saved, setSaved] = useState<LoadedWorkbook | null>(null);
  const loaded = result.data?.workbook;
  const workbook = saved && loaded && saved.id === loaded.id && saved.version > loaded.version ? saved : loaded;
  useDocumentTitle(workbook?.title ?? "Workbook");
  useEffect(() => {
    if (recorded.current === id) return;
    recorded.current = id;
    void recordView({ id });
  }, [id, recordView]);
  if (!workbook) {
    if (result.error)
      return (
        <>
          <h1>Workbook</h1>
          <ErrorMessage
            error={result.error}
            what="The workbook could not be loaded"
            onRetry={() => reexecute({ requestPolicy: "network-only" })}
          />
        </>
      );
    return (
      <p role="status" className="page-loading">
        Loading the workbook…
      </p>
    );
  }
  const views = Math.max(workbook.views, viewed.data?.viewWorkbook.views ?? 0);
  return (
    <WorkbookView
      key={`${workbook.id}:${workbook.version}`}
      workbook={workbook}
      me={result.data?.me ?? null}
      views={views}
      onReload={() => reexecute({ requestPolicy: "network-only" })}
      onSaved={setSaved}
    />
  );
}
