import { graphql } from "../../gql";
import type { TaskFieldsFragment } from "../../gql/graphql";

graphql(`
  fragment TaskFields on IngestionTaskStatus {
    taskId
    status
    datasource
    filename
    fileFormat
    sizeBytes
    progress
    rowsRead
    rowsValid
    rowsRejected
    attempts
    createdAt
    startedAt
    finishedAt
    dataAsOf
    rejectedRowsUrl
    druidTaskId
    druidDatasource
    druidReport
    traceId
    options
    overrides {
      types
      dateOrder
      rename
      drop
    }
    error {
      code
      message
      detail
      plainDetail
      remedies {
        action
        options
      }
    }
    report {
      format
      rowLabel
      rowsRead
      rowsValid
      rowsRejected
      outcome
      schemaProblems {
        missing
        extra
        wrongType {
          column
          expected
        }
      }
      checks {
        column
        check
        message
        failed
        truncated
        samples {
          row
          value
          message
        }
      }
    }
    events {
      at
      status
      message
    }
    action {
      id
      runId
    }
  }
`);

/** The name of the action that fetched a task's file (null when it is gone or not yours). */
export const TaskActionNameQuery = graphql(`
  query TaskActionName($id: ID!) {
    action(id: $id) {
      id
      name
    }
  }
`);

export const TaskQuery = graphql(`
  query Task($taskId: ID!) {
    ingestionTask(taskId: $taskId) {
      ...TaskFields
    }
  }
`);

export const TasksQuery = graphql(`
  query Tasks($datasource: String, $status: TaskStatus, $limit: Int!, $offset: Int!) {
    ingestionTasks(datasource: $datasource, status: $status, limit: $limit, offset: $offset) {
      taskId
      status
      datasource
      filename
      sizeBytes
      progress
      rowsValid
      rowsRejected
      createdAt
      finishedAt
      error {
        remedies {
          action
        }
      }
    }
  }
`);

export const RetryTaskMutation = graphql(`
  mutation RetryTask($taskId: ID!) {
    retryIngestionTask(taskId: $taskId) {
      taskId
      status
    }
  }
`);

export const ReloadTaskMutation = graphql(`
  mutation ReloadTask($taskId: ID!, $force: Boolean!, $onInvalid: OnInvalid, $evolve: [Evolve!]) {
    reloadIngestionTask(taskId: $taskId, force: $force, onInvalid: $onInvalid, evolve: $evolve) {
      taskId
      duplicate
      status
    }
  }
`);

export const CancelTaskMutation = graphql(`
  mutation CancelTask($taskId: ID!) {
    cancelIngestionTask(taskId: $taskId) {
      taskId
      status
    }
  }
`);

export const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);

/** Whether running the same task again may end otherwise: a cancelled task, or one failed on an
 * outage (the service offers a retry); a file's own problems would fail again. */
export function retryHelps(task: { status: string; error?: { remedies: { action: string }[] } | null }): boolean {
  const status = task.status.toLowerCase();
  if (status === "cancelled") return true;
  return status === "failed" && (task.error?.remedies ?? []).some((r) => r.action === "retry");
}

/** The task with the live figures of its latest progress tick (rows read so far, percent). */
export function withProgress(
  task: TaskFieldsFragment,
  update: {
    progress: number;
    rowsRead?: number | null;
    rowsValid?: number | null;
    rowsRejected?: number | null;
  } | null,
): TaskFieldsFragment {
  if (!update || update.progress < task.progress) return task;
  return {
    ...task,
    progress: update.progress,
    rowsRead: update.rowsRead ?? task.rowsRead,
    rowsValid: update.rowsValid ?? task.rowsValid,
    rowsRejected: update.rowsRejected ?? task.rowsRejected,
  };
}
