// The profile's "default dashboard" and "default datasource" (/me) decide what the app opens
// first: a workbook of theirs, or the built-in dashboard on their datasource. Only on the first
// visit of a page load to a bare "/", so the Dashboard link still opens the built-in dashboard.
import { useEffect, useState } from "react";
import { useNavigate, useSearchParams } from "react-router";
import { useQuery } from "urql";

import { graphql } from "../../gql";

const HomeQuery = graphql(`
  query DashboardHome {
    me {
      defaultDatasource
      defaultDashboard
    }
  }
`);

const WORKBOOK_ID = /^[0-9a-f]{32}$/;
let decided = false;

/** For tests: decide again, as after a page load. */
export function resetHomeChoiceForTests(): void {
  decided = false;
}

export type HomeChoice = { workbook: string } | { datasource: string } | null;

export function homeChoice(
  me: { defaultDatasource?: string | null; defaultDashboard?: string | null } | null | undefined,
): HomeChoice {
  if (me?.defaultDashboard && WORKBOOK_ID.test(me.defaultDashboard)) return { workbook: me.defaultDashboard };
  if (me?.defaultDatasource) return { datasource: me.defaultDatasource };
  return null;
}

/** True while the profile is read and acted on (the page waits rather than loading its widgets
 * for a dashboard it is about to leave). */
export function useHomeChoice(): boolean {
  const [params, setParams] = useSearchParams();
  const navigate = useNavigate();
  const [pending] = useState(() => !decided && params.size === 0);
  const [result] = useQuery({ query: HomeQuery, pause: !pending });
  const answered = !result.fetching && (result.data !== undefined || result.error !== undefined);
  const choice = answered ? homeChoice(result.data?.me) : null;
  useEffect(() => {
    if (!pending || !answered || decided) return;
    decided = true;
    if (choice && "workbook" in choice) navigate(`/workbooks/${choice.workbook}`, { replace: true });
    else if (choice) setParams({ ds: choice.datasource }, { replace: true });
  }, [pending, answered, choice, navigate, setParams]);
  if (!pending) return false;
  return !answered || (choice !== null && !decided);
}
