import { useEffect, useEffectEvent, useRef } from "react";
import { useSubscription } from "urql";

import { graphql } from "../gql";
import type { TaskUpdatesSubscription as TaskUpdate } from "../gql/graphql";
import { usePolling } from "./usePolling";

const TaskUpdatesSubscription = graphql(`
  subscription TaskUpdates($taskId: ID!) {
    ingestionTaskUpdates(taskId: $taskId) {
      id
      kind
      status
      progress
      rowsRead
      rowsValid
      rowsRejected
      final
    }
  }
`);

const TaskListUpdatesSubscription = graphql(`
  subscription TaskListUpdates($datasource: String) {
    ingestionTasksUpdates(datasource: $datasource) {
      taskId
      status
      updatedAt
    }
  }
`);

export type LiveTaskUpdate = TaskUpdate["ingestionTaskUpdates"];

/**
 * A task's state changes and progress ticks as the server records them (GraphQL subscription).
 * `refresh` runs on every state change and at the end (the page re-reads the whole task: its
 * timeline and report); progress ticks only update the returned figures. When the socket cannot
 * be used, `refresh` runs every `fallbackMs` instead, as long as `active`.
 */
export function useTaskUpdates(
  taskId: string,
  active: boolean,
  refresh: () => void,
  fallbackMs = 1000,
): LiveTaskUpdate | null {
  const [result] = useSubscription({ query: TaskUpdatesSubscription, variables: { taskId }, pause: !active });
  const update = result.data?.ingestionTaskUpdates ?? null;
  const onChange = useEffectEvent(refresh);
  const changed = update !== null && (update.kind === "event" || update.final);
  useEffect(() => {
    if (changed) onChange();
  }, [changed, update?.id]);
  usePolling(refresh, fallbackMs, active && result.error !== undefined);
  return update;
}

/**
 * Runs `refresh` when any task (of `datasource`, or any) changes, at most once per `everyMs`
 * (a running upload ticks often); every `fallbackMs` instead when the socket cannot be used.
 */
export function useTaskListUpdates(
  datasource: string | null,
  refresh: () => void,
  everyMs = 1000,
  fallbackMs = 3000,
): void {
  const [result] = useSubscription({ query: TaskListUpdatesSubscription, variables: { datasource } });
  const update = result.data?.ingestionTasksUpdates;
  const onChange = useEffectEvent(refresh);
  // A new answer object with the same figures is not a change.
  const changeKey = update ? JSON.stringify([update.taskId, update.status, update.updatedAt]) : null;
  const last = useRef(0);
  const trailing = useRef<number | undefined>(undefined);
  useEffect(() => {
    if (changeKey === null || trailing.current !== undefined) return; // a refresh is already due
    const run = () => {
      trailing.current = undefined;
      last.current = Date.now();
      onChange();
    };
    const wait = last.current + everyMs - Date.now();
    if (wait <= 0) run();
    else trailing.current = window.setTimeout(run, wait); // the changes since, in one refresh
  }, [changeKey, everyMs]);
  useEffect(
    () => () => {
      window.clearTimeout(trailing.current);
      trailing.current = undefined; // effects may run again without a remount
    },
    [],
  );
  usePolling(refresh, fallbackMs, result.error !== undefined);
}
