import { Link, useParams } from "react-router";

import { Widget } from "../../components/Widget";
import { useDocumentTitle } from "../../hooks/useDocumentTitle";
import { useTaskUpdates } from "../../hooks/useLiveUpdates";
import { useWidgetQuery } from "../../hooks/useWidgetQuery";
import { TaskQuery, TERMINAL, withProgress } from "./queries";
import { TaskDetails } from "./TaskDetails";

export default function TaskPage() {
  const { taskId = "" } = useParams();
  useDocumentTitle(`Task ${taskId}`);
  const q = useWidgetQuery(TaskQuery, { taskId });
  const task = q.data?.ingestionTask;
  const running = !task || !TERMINAL.has(task.status.toLowerCase());
  const update = useTaskUpdates(taskId, running, q.refetch, 1500);
  return (
    <>
      <p>
        <Link to="/tasks">All tasks</Link>
      </p>
      <h1>Task {taskId}</h1>
      <Widget title="Task" fetching={q.fetching} error={q.error} hasData={q.hasData} onRetry={q.refetch}>
        {task ? <TaskDetails task={withProgress(task, running ? update : null)} onChanged={q.refetch} /> : null}
      </Widget>
    </>
  );
}
