import { useCallback, useEffect, useId, useRef, useState, type DragEvent, type FormEvent } from "react";
import { Link, useLocation } from "react-router";
import { useQuery } from "urql";

import { describeError } from "../../api/errors";
import { uploadFile, type UploadAccepted, type UploadHandle } from "../../api/rest";
import { ErrorMessage } from "../../components/ErrorMessage";
import { graphql } from "../../gql";
import { formatBytes, formatCount, formatDateTime, formatPercent } from "../../format";
import type { TaskFieldsFragment } from "../../gql/graphql";
import { useDocumentTitle } from "../../hooks/useDocumentTitle";
import { useTaskUpdates } from "../../hooks/useLiveUpdates";
import { checkDatasourceName } from "../datasourceName";
import { TaskQuery, TERMINAL, withProgress } from "../tasks/queries";
import { Remedies, type Reloaded } from "../tasks/Remedies";
import { TaskDetails } from "../tasks/TaskDetails";
import {
  abortSession,
  confirmPreview,
  type Overrides,
  type Preview,
  type PreviewColumn,
  taskPreview,
  type UploadSession,
} from "./api";
import { carriedDropped, NO_EDITS, refusedWords, type Edits } from "./overrides";
import { PreviewPanel } from "./PreviewPanel";
import {
  fileBytesSent,
  forget,
  INVALID_WORDS,
  MODE_WORDS,
  partsAboveBytes,
  recordOf,
  resumeWords,
  usesParts,
} from "./resume";
import { findResumable, type PartsState, useParts } from "./useParts";

const DatasourceNamesQuery = graphql(`
  query DatasourceNames {
    datasources {
      name
    }
  }
`);

/** Under a field a found session sets. */
const LOCKED = "Set by the unfinished upload found: press Start over to change it.";

/** The task the upload (or a remedy taken) made, or the earlier one a duplicate points to. */
interface Shown {
  taskId: string;
  duplicate: boolean;
  datasource: string;
  /** A preview (dry run): nothing is loaded; its preview is shown when it ends. */
  dryRun: boolean;
}

function LiveTask({
  taskId,
  onReloaded,
  onFinished,
}: {
  taskId: string;
  onReloaded: (task: Reloaded) => void;
  /** The task ended (its datasource may be new), with its status in lower case. */
  onFinished: (status: string, task: TaskFieldsFragment) => void;
}) {
  const [result, refetch] = useQuery({ query: TaskQuery, variables: { taskId } });
  const task = result.data?.ingestionTask;
  const status = task?.status.toLowerCase() ?? "";
  const done = TERMINAL.has(status);
  const latest = useRef({ onFinished, task });
  useEffect(() => {
    latest.current = { onFinished, task };
  });
  useEffect(() => {
    const { onFinished: finished, task: ended } = latest.current;
    if (done && ended) finished(status, ended);
  }, [done, status]);
  const reload = () => refetch({ requestPolicy: "network-only" });
  const update = useTaskUpdates(taskId, !done, reload);
  if (result.error && !task) return <ErrorMessage error={result.error} what="The task could not be loaded" />;
  if (!task) return <p role="status">Loading the task…</p>;
  return (
    <div aria-live="polite">
      <p>
        Task <Link to={`/tasks/${task.taskId}`}>{task.taskId}</Link>
      </p>
      <TaskDetails task={withProgress(task, done ? null : update)} onChanged={reload} onReloaded={onReloaded} />
    </div>
  );
}

/** The file was uploaded before: nothing new was queued; loading it again is a button. */
function Duplicate({ shown, onReloaded }: { shown: Shown; onReloaded: (task: Reloaded) => void }) {
  const notice = useRef<HTMLElement>(null);
  useEffect(() => notice.current?.focus(), [shown.taskId]);
  return (
    <section className="notice" data-testid="duplicate" tabIndex={-1} ref={notice} aria-label="Already uploaded">
      <p role="status">
        This file was already uploaded to the datasource {shown.datasource}, so nothing new was queued. See{" "}
        <Link to={`/tasks/${shown.taskId}`}>the earlier task</Link>.
      </p>
      <Remedies taskId={shown.taskId} remedies={[{ action: "force" }]} onReloaded={onReloaded} />
    </section>
  );
}

/** The chosen file has an unfinished session: Upload continues it (Resume upload). */
function ResumeNotice({ session, onStartOver }: { session: UploadSession; onStartOver: () => void }) {
  return (
    <div className="notice" data-testid="resumable">
      <p role="status">{resumeWords(session, recordOf(session.id)?.options ?? null)}</p>
      <button type="button" onClick={onStartOver}>
        Start over
      </button>
    </div>
  );
}

/** Pause, resume, retry and cancel of a file sent in parts. */
function PartsControls({
  parts,
  onPauseResume,
  onRetry,
  onCancel,
}: {
  parts: PartsState;
  onPauseResume: () => void;
  onRetry: () => void;
  onCancel: () => void;
}) {
  const { session } = parts;
  const [asking, setAsking] = useState(false);
  return (
    <div className="notice" data-testid="parts">
      <p role="status">
        {parts.failed
          ? "Sending stopped on a part that failed. Retry sends the parts the server does not have yet."
          : parts.paused
            ? `Paused. The parts sent so far are kept on the server until ${formatDateTime(session.expires_at)}: press Resume, or come back later, choose the same file again and press Resume upload.`
            : `Sending ${session.filename} in ${formatCount(session.part_count, "part")} of ${formatBytes(session.part_size)}.`}
      </p>
      <div className="form-grid">
        {parts.failed ? (
          <button type="button" className="primary" onClick={onRetry}>
            Retry
          </button>
        ) : (
          <button type="button" onClick={onPauseResume}>
            {parts.paused ? "Resume" : "Pause"}
          </button>
        )}
        {asking ? null : (
          <button type="button" onClick={() => setAsking(true)}>
            Cancel the upload
          </button>
        )}
      </div>
      {asking ? (
        <div className="form-grid" role="group" aria-label="Cancel the upload?">
          <p>Cancel the upload? The parts sent so far are removed from the server, and the file is not loaded.</p>
          <button type="button" onClick={onCancel}>
            Yes, cancel it
          </button>
          <button type="button" onClick={() => setAsking(false)}>
            No, keep it
          </button>
        </div>
      ) : null}
    </div>
  );
}

interface Previewed {
  taskId: string;
  /** The file's first preview (the upload's dry run, made without changes): Load and Preview
   * again confirm it with all the choices, since the service adds a confirm's changes to those
   * of the preview confirmed, and a drop or a rename could not be taken back otherwise. */
  firstTaskId: string;
  preview: Preview;
  /** The datasource it was made for. */
  datasource: string;
  /** Columns earlier previews showed that this one does not (dropped). */
  dropped: PreviewColumn[];
}

/** A Load or Preview again queued from the preview: its task, until it ends. */
interface Waiting {
  taskId: string;
  dryRun: boolean;
}

export default function UploadPage() {
  useDocumentTitle("Upload");
  const id = useId();
  const location = useLocation();
  const partsAbove = partsAboveBytes(location.search);
  const input = useRef<HTMLInputElement>(null);
  const [file, setFile] = useState<File | null>(null);
  const [over, setOver] = useState(false);
  const [datasource, setDatasource] = useState("sales");
  const [onInvalid, setOnInvalid] = useState<"reject" | "skip">("reject");
  const [mode, setMode] = useState<"append" | "replace">("append");
  const [previewFirst, setPreviewFirst] = useState(false);
  const [sent, setSent] = useState<{ loaded: number; total: number } | null>(null);
  const [handle, setHandle] = useState<UploadHandle | null>(null);
  const [resumable, setResumable] = useState<UploadSession | null>(null);
  const [shown, setShown] = useState<Shown | null>(null);
  const [previewed, setPreviewed] = useState<Previewed | null>(null);
  const [edits, setEdits] = useState<Edits>(NO_EDITS);
  const [waiting, setWaiting] = useState<Waiting | null>(null);
  const [refused, setRefused] = useState<string | null>(null);
  const [cancelled, setCancelled] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [names, refetchNames] = useQuery({ query: DatasourceNamesQuery });
  const dsInput = useRef<HTMLInputElement>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const existing = (names.data?.datasources ?? []).map((d) => d.name);
  const name = checkDatasourceName(datasource, existing, mode === "replace");
  const parts = useParts({
    onProgress: (loaded, total) => setSent({ loaded, total }),
    onError: setError,
    onDone: (answer, session) => show(answer, session.datasource_name, session.dry_run),
  });

  // A new task to follow: focus goes to its heading, where its status is read from.
  useEffect(() => {
    if (shown && !shown.duplicate) heading.current?.focus();
  }, [shown]);

  // A task shown ended: a preview's is shown (replacing the one it was made from); a Load or
  // Preview again that failed leaves the preview and the choices on screen, with why.
  const finished = useCallback(
    (status: string, task: TaskFieldsFragment) => {
      refetchNames({ requestPolicy: "network-only" });
      if (!shown || task.taskId !== shown.taskId) return;
      const queued = waiting?.taskId === task.taskId ? waiting : null;
      if (queued) setWaiting(null);
      if (status === "succeeded" && shown.dryRun) {
        const where = shown.datasource;
        taskPreview(task.taskId).then((preview) => {
          if (!preview) return;
          setPreviewed((earlier) => ({
            taskId: task.taskId,
            firstTaskId: earlier?.firstTaskId ?? task.taskId,
            preview,
            datasource: where,
            dropped: carriedDropped(earlier, preview),
          }));
          setEdits((current) => ({ ...current, datasource: null }));
        }, setError);
      } else if (status === "succeeded" && queued) {
        setPreviewed(null);
        setEdits(NO_EDITS);
      } else if (queued) {
        setRefused(refusedWords(queued.dryRun, task.error));
      }
    },
    [refetchNames, shown, waiting],
  );

  function show(next: UploadAccepted | Reloaded, where: string, dryRun = false) {
    const taskId = "task_id" in next ? next.task_id : next.taskId;
    setShown({ taskId, duplicate: next.duplicate, datasource: where, dryRun: dryRun && !next.duplicate });
  }

  // A large file chosen: is there an unfinished session of it to continue?
  const looking = useRef<AbortController | null>(null);
  function choose(chosen: File | null) {
    setFile(chosen);
    setResumable(null);
    setCancelled(null);
    looking.current?.abort();
    if (!chosen || !usesParts(chosen.size, partsAbove)) return;
    const controller = new AbortController();
    looking.current = controller;
    findResumable(chosen, controller.signal).then((found) => {
      if (controller.signal.aborted || !found) return;
      // The session goes on with its own datasource and options: the fields show them, locked.
      setResumable(found);
      setDatasource(found.datasource_name);
      setPreviewFirst(found.dry_run);
      const options = recordOf(found.id)?.options;
      if (options) {
        setOnInvalid(options.on_invalid);
        setMode(options.mode);
      }
    });
  }

  function drop(event: DragEvent) {
    event.preventDefault();
    setOver(false);
    const dropped = event.dataTransfer.files[0];
    if (dropped) choose(dropped);
  }

  function startOver() {
    if (resumable) {
      forget(resumable.id);
      abortSession(resumable.id).catch(setError);
    }
    setResumable(null);
  }

  function sendInParts(chosen: File, target: string) {
    parts
      .send(chosen, resumable, { datasource_name: target, on_invalid: onInvalid, mode, dry_run: previewFirst })
      .catch(setError);
    setResumable(null);
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    if (!file) return;
    if (name.problem && !resumable) {
      dsInput.current?.focus(); // the sentence under it says what to change
      return;
    }
    const target = datasource.trim();
    setError(null);
    setShown(null);
    setPreviewed(null);
    setEdits(NO_EDITS);
    setSent({ loaded: 0, total: file.size });
    setCancelled(null);
    setWaiting(null);
    setRefused(null);
    if (usesParts(file.size, partsAbove)) return sendInParts(file, target);
    // The request also carries the form around the file: the bar counts the file's bytes.
    const size = file.size;
    const started = uploadFile({ file, datasource: target, onInvalid, mode, dryRun: previewFirst }, (loaded, total) =>
      setSent({ loaded: fileBytesSent(loaded, total, size), total: size }),
    );
    setHandle(started);
    started.promise.then((answer) => show(answer, target, previewFirst), setError).finally(() => setHandle(null));
  }

  // The preview stays until the Load's task succeeds (or Preview again's preview replaces it).
  async function confirm(overrides: Overrides, dryRun: boolean, target: string) {
    if (!previewed) return;
    setRefused(null);
    const answer = await confirmPreview(previewed.firstTaskId, { overrides, dry_run: dryRun, datasource_name: target });
    show(answer, target, dryRun);
    setWaiting(answer.duplicate ? null : { taskId: answer.task_id, dryRun });
  }

  async function cancelParts() {
    setSent(null);
    const removed = await parts.cancel();
    setCancelled(
      removed === null
        ? "The upload was cancelled, and the parts sent were removed from the server."
        : `The upload was cancelled, and the ${formatCount(removed, "part")} sent ${removed === 1 ? "was" : "were"} removed from the server.`,
    );
  }

  const busy = handle !== null || parts.state !== null;
  const locked = resumable !== null;
  const fraction = sent && sent.total > 0 ? sent.loaded / sent.total : 0;
  return (
    <>
      <h1>Upload sales data</h1>
      <form onSubmit={submit} aria-label="Upload">
        <div
          className={`dropzone${over ? " over" : ""}`}
          onDragOver={(e) => {
            e.preventDefault();
            setOver(true);
          }}
          onDragLeave={() => setOver(false)}
          onDrop={drop}
        >
          <p>Drop a CSV, Excel or Parquet file here, or</p>
          <label htmlFor={`${id}-file`}>Choose a file</label>{" "}
          <input
            id={`${id}-file`}
            ref={input}
            type="file"
            accept=".csv,.txt,.xlsx,.xls,.parquet"
            onChange={(e) => choose(e.target.files?.[0] ?? null)}
          />
          <p className="field-note" data-testid="parts-threshold">
            Files over {formatBytes(partsAbove)} are sent in parts you can pause and resume.
          </p>
          {file ? (
            <p data-testid="chosen-file">
              {file.name} ({formatBytes(file.size)})
              {usesParts(file.size, partsAbove)
                ? ": it is sent in parts; a pause, a lost connection or a closed page does not lose the parts sent."
                : null}
            </p>
          ) : null}
        </div>
        {resumable ? <ResumeNotice session={resumable} onStartOver={startOver} /> : null}
        <div className="form-grid">
          <div className="field">
            <label htmlFor={`${id}-ds`}>Datasource</label>
            <input
              id={`${id}-ds`}
              ref={dsInput}
              list={`${id}-names`}
              value={datasource}
              required
              readOnly={locked}
              aria-invalid={name.problem && !locked ? true : undefined}
              aria-describedby={`${id}-ds-said`}
              onChange={(e) => setDatasource(e.target.value)}
            />
            <p
              id={`${id}-ds-said`}
              className={name.problem && !locked ? "field-problem" : "field-note"}
              aria-live="polite"
            >
              {locked ? LOCKED : (name.problem ?? name.note)}
            </p>
            <datalist id={`${id}-names`}>
              {(names.data?.datasources ?? []).map((d) => (
                <option key={d.name} value={d.name} />
              ))}
            </datalist>
          </div>
          <div className="field">
            <label htmlFor={`${id}-inv`}>Invalid rows</label>
            <select
              id={`${id}-inv`}
              value={onInvalid}
              disabled={locked}
              onChange={(e) => setOnInvalid(e.target.value as "reject" | "skip")}
            >
              <option value="reject">{INVALID_WORDS.reject}</option>
              <option value="skip">{INVALID_WORDS.skip}</option>
            </select>
          </div>
          <div className="field">
            <label htmlFor={`${id}-mode`}>Mode</label>
            <select
              id={`${id}-mode`}
              value={mode}
              disabled={locked}
              onChange={(e) => setMode(e.target.value as "append" | "replace")}
            >
              <option value="append">{MODE_WORDS.append}</option>
              <option value="replace">{MODE_WORDS.replace}</option>
            </select>
          </div>
          <div className="field">
            <label>
              <input
                type="checkbox"
                checked={previewFirst}
                disabled={locked}
                onChange={(e) => setPreviewFirst(e.target.checked)}
              />{" "}
              Preview first
            </label>
            <p className="field-note">
              The file is read and checked and its columns shown; nothing is loaded until Load.
            </p>
          </div>
          <button type="submit" className="primary" disabled={!file || busy}>
            {resumable ? "Resume upload" : "Upload"}
          </button>
          {handle ? (
            <button type="button" onClick={() => handle.abort()}>
              Stop
            </button>
          ) : null}
        </div>
      </form>
      {parts.state ? (
        <PartsControls
          parts={parts.state}
          onPauseResume={parts.pauseResume}
          onRetry={() => {
            setError(null);
            parts.retry();
          }}
          onCancel={() => void cancelParts().catch(setError)}
        />
      ) : null}
      {cancelled ? (
        <p role="status" className="notice" data-testid="cancelled">
          {cancelled}
        </p>
      ) : null}
      {sent ? (
        <div className="field">
          <label htmlFor={`${id}-bytes`}>
            Sent {formatBytes(sent.loaded)} of {formatBytes(sent.total)} ({formatPercent(fraction * 100, 0)})
          </label>
          <progress id={`${id}-bytes`} max={1} value={fraction} />
        </div>
      ) : null}
      {error ? (
        <ErrorMessage
          error={error}
          what={describeError(error).status === 413 ? "The file is too large" : "The upload failed"}
        />
      ) : null}
      {shown?.duplicate ? <Duplicate shown={shown} onReloaded={(next) => show(next, shown.datasource)} /> : null}
      {shown ? (
        <>
          <h2 ref={heading} tabIndex={-1}>
            {shown.duplicate ? "The earlier task" : shown.dryRun ? "Preview task status" : "Task status"}
          </h2>
          <LiveTask
            key={shown.taskId}
            taskId={shown.taskId}
            onReloaded={(next) => show(next, shown.datasource)}
            onFinished={finished}
          />
        </>
      ) : null}
      {previewed ? (
        <PreviewPanel
          key={previewed.taskId}
          preview={previewed.preview}
          edits={edits}
          onEdit={setEdits}
          onConfirm={confirm}
          datasource={previewed.datasource}
          existing={existing}
          dropped={previewed.dropped}
          waiting={waiting ? (waiting.dryRun ? "again" : "load") : null}
          refused={refused}
        />
      ) : null}
    </>
  );
}
