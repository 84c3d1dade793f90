import { Link, useParams } from "react-router";

import { Widget } from "../../components/Widget";
import { formatDate, formatInteger } from "../../format";
import { useDocumentTitle } from "../../hooks/useDocumentTitle";
import { useWidgetQuery } from "../../hooks/useWidgetQuery";
import { Avatar } from "../workbooks/Avatar";
import { PublicUserQuery } from "./queries";

function roleSentence(role: string | null | undefined): string {
  return role ? `Role: ${role}.` : "No role.";
}

/** A person's public profile: who they are and the workbooks of theirs the caller may see. */
export default function UserPage() {
  const name = useParams().name ?? "";
  const q = useWidgetQuery(PublicUserQuery, { name });
  const user = q.data?.user;
  useDocumentTitle(user?.displayName ?? name);
  const count = user?.workbookCount ?? 0;
  return (
    <>
      <h1 className="profile-heading">
        <Avatar name={user?.displayName || name} large />
        {user?.displayName || name}
      </h1>
      {user ? (
        <p className="muted">
          @{user.name}. {roleSentence(user.role)} Here since {formatDate(user.createdAt)}.
        </p>
      ) : null}
      <Widget
        title="Shared workbooks"
        fetching={q.fetching}
        error={q.error}
        hasData={q.hasData}
        empty={!user || user.workbooks.length === 0}
        emptyText={`${name} has no workbook you can see.`}
        onRetry={q.refetch}
      >
        <p data-testid="workbook-count">
          {count === 1 ? "1 workbook you can see." : `${formatInteger(count)} workbooks you can see.`}
        </p>
        <ul className="feed-list">
          {user?.workbooks.map((workbook) => (
            <li key={workbook.id}>
              <Link to={`/workbooks/${encodeURIComponent(workbook.id)}`}>{workbook.title}</Link>{" "}
              <span className="muted">
                updated <time dateTime={workbook.updatedAt}>{formatDate(workbook.updatedAt)}</time>
              </span>
            </li>
          ))}
        </ul>
        {count > (user?.workbooks.length ?? 0) ? (
          <p>
            <Link to={`/workbooks?author=${encodeURIComponent(name)}`}>See all of their workbooks.</Link>
          </p>
        ) : null}
      </Widget>
    </>
  );
}
