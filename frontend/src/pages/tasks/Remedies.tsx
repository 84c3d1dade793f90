import { useMutation } from "urql";

import { ErrorMessage } from "../../components/ErrorMessage";
import type { Evolve } from "../../gql/graphql";
import { ReloadTaskMutation } from "./queries";

/** A remedy the service offers: an action and the upload options that carry it out. */
export interface Remedy {
  action: string;
  options?: unknown;
}

/** What the new task is, once a remedy was taken. */
export interface Reloaded {
  taskId: string;
  duplicate: boolean;
}

function evolveOf(remedy: Remedy): Evolve[] {
  const options = (remedy.options ?? {}) as { evolve?: unknown };
  const text = typeof options.evolve === "string" ? options.evolve : "add_columns";
  return text.split(",").map((kind) => (kind.trim() === "widen" ? "WIDEN" : "ADD_COLUMNS"));
}

/** The button's words: what it does, as the person reading the advice would say it. */
export function remedyLabel(remedy: Remedy): string | null {
  switch (remedy.action) {
    case "force":
      return "Load again anyway";
    case "skip_invalid":
      return "Skip the invalid rows and load the rest";
    case "evolve": {
      const kinds = evolveOf(remedy);
      if (kinds.length > 1) return "Add the new columns, accept decimals and load";
      return kinds[0] === "WIDEN"
        ? "Accept decimals in the whole-number columns and load"
        : "Add the new columns and load";
    }
    default:
      return null; // a retry is the Retry button; an unknown action is not offered
  }
}

function variables(taskId: string, remedy: Remedy) {
  return {
    taskId,
    force: remedy.action === "force",
    onInvalid: remedy.action === "skip_invalid" ? ("SKIP" as const) : null,
    evolve: remedy.action === "evolve" ? evolveOf(remedy) : null,
  };
}

/** The remedies of a task as buttons: each loads the task's stored file again as a new task
 * with the remedy's options (the file is not sent again). */
export function Remedies({
  taskId,
  remedies,
  onReloaded,
}: {
  taskId: string;
  remedies: Remedy[];
  onReloaded: (task: Reloaded) => void;
}) {
  const [state, reload] = useMutation(ReloadTaskMutation);
  const offered = remedies.flatMap((remedy) => {
    const label = remedyLabel(remedy);
    return label ? [{ remedy, label }] : [];
  });
  if (offered.length === 0) return null;
  const take = async (remedy: Remedy) => {
    const result = await reload(variables(taskId, remedy));
    const task = result.data?.reloadIngestionTask;
    if (task) onReloaded({ taskId: task.taskId, duplicate: task.duplicate });
  };
  return (
    <span className="remedies">
      {offered.map(({ remedy, label }) => (
        <button
          key={remedy.action}
          type="button"
          className="primary"
          disabled={state.fetching}
          onClick={() => void take(remedy)}
        >
          {label}
        </button>
      ))}
      {state.error ? <ErrorMessage error={state.error} what="The file could not be loaded again" /> : null}
    </span>
  );
}
