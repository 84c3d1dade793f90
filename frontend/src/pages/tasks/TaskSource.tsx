import { Link } from "react-router";
import { useQuery } from "urql";

import { TaskActionNameQuery } from "./queries";

interface Props {
  source: { id: string; runId?: string | null };
}

/** "Fetched by the action Shop feed (run 1a2b3c4d)." with a link to the Actions page; the
 * action's id stands in for its name when the name cannot be read (deleted, or not yours). */
export function TaskSource({ source }: Props) {
  const [result] = useQuery({ query: TaskActionNameQuery, variables: { id: source.id } });
  const name = result.data?.action?.name;
  return (
    <p data-testid="task-source">
      Fetched by the action <Link to="/actions">{name ? `“${name}”` : source.id.slice(0, 8)}</Link>
      {source.runId ? ` (run ${source.runId.slice(0, 8)})` : ""}, not uploaded by hand.
    </p>
  );
}
