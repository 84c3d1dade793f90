import { useCallback, useEffect, useId, useRef, useState, type DragEvent, type FormEvent } from "react";
import { Link } from "react-router";
import { useQuery } from "urql";

import { describeError } from "../api/errors";
import { uploadFile, type UploadAccepted, type UploadHandle } from "../api/rest";
import { ErrorMessage } from "../components/ErrorMessage";
import { graphql } from "../gql";
import { formatBytes, formatPercent } from "../format";
import { useDocumentTitle } from "../hooks/useDocumentTitle";
import { useTaskUpdates } from "../hooks/useLiveUpdates";
import { checkDatasourceName } from "./datasourceName";
import { TaskQuery, TERMINAL, withProgress } from "./tasks/queries";
import { Remedies, type Reloaded } from "./tasks/Remedies";
import { TaskDetails } from "./tasks/TaskDetails";

const DatasourceNamesQuery = graphql(`
  query DatasourceNames {
    datasources {
      name
    }
  }
`);

/** The task the upload (or a remedy taken) made, or the earlier one a duplicate points to. */
interface Shown {
  taskId: string;
  duplicate: boolean;
  datasource: string;
}

function LiveTask({
  taskId,
  onReloaded,
  onFinished,
}: {
  taskId: string;
  onReloaded: (task: Reloaded) => void;
  /** The task ended (its datasource may be new). */
  onFinished: () => void;
}) {
  const [result, refetch] = useQuery({ query: TaskQuery, variables: { taskId } });
  const task = result.data?.ingestionTask;
  const done = task ? TERMINAL.has(task.status.toLowerCase()) : false;
  useEffect(() => {
    if (done) onFinished();
  }, [done, onFinished]);
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

export default function UploadPage() {
  useDocumentTitle("Upload");
  const id = useId();
  const input = useRef<HTMLInputElement>(null);
  const [file, setFile] = useState<File | null>(null);
  const [over, setOver] = useState(false);
  const [datasource, setDatasource] = useState("sales");
  const [onInvalid, setOnInvalid] = useState<"reject" | "skip">("reject");
  const [mode, setMode] = useState<"append" | "replace">("append");
  const [sent, setSent] = useState<{ loaded: number; total: number } | null>(null);
  const [handle, setHandle] = useState<UploadHandle | null>(null);
  const [shown, setShown] = useState<Shown | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [names, refetchNames] = useQuery({ query: DatasourceNamesQuery });
  const namesChanged = useCallback(() => refetchNames({ requestPolicy: "network-only" }), [refetchNames]);
  const dsInput = useRef<HTMLInputElement>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const existing = (names.data?.datasources ?? []).map((d) => d.name);
  const name = checkDatasourceName(datasource, existing, mode === "replace");

  // A new task to follow: focus goes to its heading, where its status is read from.
  useEffect(() => {
    if (shown && !shown.duplicate) heading.current?.focus();
  }, [shown]);

  function show(next: UploadAccepted | Reloaded, where: string) {
    const taskId = "task_id" in next ? next.task_id : next.taskId;
    setShown({ taskId, duplicate: next.duplicate, datasource: where });
  }

  function drop(event: DragEvent) {
    event.preventDefault();
    setOver(false);
    const dropped = event.dataTransfer.files[0];
    if (dropped) setFile(dropped);
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    if (!file) return;
    if (name.problem) {
      dsInput.current?.focus(); // the sentence under it says what to change
      return;
    }
    const target = datasource.trim();
    setError(null);
    setShown(null);
    setSent({ loaded: 0, total: file.size });
    const started = uploadFile({ file, datasource: target, onInvalid, mode }, (loaded, total) =>
      setSent({ loaded, total }),
    );
    setHandle(started);
    started.promise.then((answer) => show(answer, target), setError).finally(() => setHandle(null));
  }

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
            onChange={(e) => setFile(e.target.files?.[0] ?? null)}
          />
          {file ? (
            <p data-testid="chosen-file">
              {file.name} ({formatBytes(file.size)})
            </p>
          ) : null}
        </div>
        <div className="form-grid">
          <div className="field">
            <label htmlFor={`${id}-ds`}>Datasource</label>
            <input
              id={`${id}-ds`}
              ref={dsInput}
              list={`${id}-names`}
              value={datasource}
              required
              aria-invalid={name.problem ? true : undefined}
              aria-describedby={`${id}-ds-said`}
              onChange={(e) => setDatasource(e.target.value)}
            />
            <p id={`${id}-ds-said`} className={name.problem ? "field-problem" : "field-note"} aria-live="polite">
              {name.problem ?? name.note}
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
              onChange={(e) => setOnInvalid(e.target.value as "reject" | "skip")}
            >
              <option value="reject">reject the file</option>
              <option value="skip">skip them, load the rest</option>
            </select>
          </div>
          <div className="field">
            <label htmlFor={`${id}-mode`}>Mode</label>
            <select id={`${id}-mode`} value={mode} onChange={(e) => setMode(e.target.value as "append" | "replace")}>
              <option value="append">append</option>
              <option value="replace">replace the period it covers</option>
            </select>
          </div>
          <button type="submit" className="primary" disabled={!file || handle !== null}>
            Upload
          </button>
          {handle ? (
            <button type="button" onClick={() => handle.abort()}>
              Stop
            </button>
          ) : null}
        </div>
      </form>
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
            {shown.duplicate ? "The earlier task" : "Task status"}
          </h2>
          <LiveTask
            key={shown.taskId}
            taskId={shown.taskId}
            onReloaded={(next) => show(next, shown.datasource)}
            onFinished={namesChanged}
          />
        </>
      ) : null}
    </>
  );
}
