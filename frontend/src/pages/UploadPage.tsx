import { useId, useRef, useState, type DragEvent, type FormEvent } from "react";
import { Link } from "react-router";
import { useQuery } from "urql";

import { describeError } from "../api/errors";
import { uploadFile, type UploadAccepted, type UploadHandle } from "../api/rest";
import { ErrorMessage } from "../components/ErrorMessage";
import { graphql } from "../gql";
import { formatBytes, formatPercent } from "../format";
import { useDocumentTitle } from "../hooks/useDocumentTitle";
import { useTaskUpdates } from "../hooks/useLiveUpdates";
import { TaskQuery, TERMINAL, withProgress } from "./tasks/queries";
import { TaskDetails } from "./tasks/TaskDetails";

const DatasourceNamesQuery = graphql(`
  query DatasourceNames {
    datasources {
      name
    }
  }
`);

function LiveTask({ taskId }: { taskId: string }) {
  const [result, refetch] = useQuery({ query: TaskQuery, variables: { taskId } });
  const task = result.data?.ingestionTask;
  const done = task ? TERMINAL.has(task.status.toLowerCase()) : false;
  const reload = () => refetch({ requestPolicy: "network-only" });
  const update = useTaskUpdates(taskId, !done, reload);
  if (result.error && !task) return <ErrorMessage error={result.error} what="The task could not be loaded" />;
  if (!task) return <p role="status">Loading the task…</p>;
  return (
    <div aria-live="polite">
      <p>
        Task <Link to={`/tasks/${task.taskId}`}>{task.taskId}</Link>
      </p>
      <TaskDetails task={withProgress(task, done ? null : update)} onChanged={reload} />
    </div>
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
  const [accepted, setAccepted] = useState<UploadAccepted | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [names] = useQuery({ query: DatasourceNamesQuery });

  function drop(event: DragEvent) {
    event.preventDefault();
    setOver(false);
    const dropped = event.dataTransfer.files[0];
    if (dropped) setFile(dropped);
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    if (!file) return;
    setError(null);
    setAccepted(null);
    setSent({ loaded: 0, total: file.size });
    const started = uploadFile({ file, datasource, onInvalid, mode }, (loaded, total) => setSent({ loaded, total }));
    setHandle(started);
    started.promise.then(setAccepted, setError).finally(() => setHandle(null));
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
              list={`${id}-names`}
              value={datasource}
              required
              pattern="[A-Za-z0-9_\-]+"
              onChange={(e) => setDatasource(e.target.value)}
            />
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
      {accepted?.duplicate ? (
        <p className="notice" role="status" data-testid="duplicate">
          {accepted.message} See <Link to={`/tasks/${accepted.task_id}`}>the earlier task</Link>.
        </p>
      ) : null}
      {accepted ? <LiveTask taskId={accepted.task_id} /> : null}
    </>
  );
}
