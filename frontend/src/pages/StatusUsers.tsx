// The Status page's people: how many users there are (every signed-in caller), and for admins
// a paged table of them. The role comes from `me`; the `users` query is paused until `me` says
// admin, so other roles never send it (the server would refuse it).
import { useState } from "react";

import { StackedTable } from "./performance/StackedTable";
import { Widget } from "../components/Widget";
import { graphql } from "../gql";
import { formatDateTime, formatInteger } from "../format";
import { useWidgetQuery } from "../hooks/useWidgetQuery";

const PAGE = 20;

const UserCountQuery = graphql(`
  query StatusUserCount {
    userCount
  }
`);

const MyRoleQuery = graphql(`
  query StatusMyRole {
    me {
      name
      role
    }
  }
`);

const UsersQuery = graphql(`
  query StatusUsers($limit: Int!, $offset: Int!) {
    users(limit: $limit, offset: $offset) {
      items {
        id
        name
        displayName
        role
        createdAt
        lastSeenAt
        disabledAt
      }
      total
      nextOffset
    }
  }
`);

export function userCountText(count: number): string {
  return count === 1 ? "1 user is enabled." : `${formatInteger(count)} users are enabled.`;
}

function UserCount() {
  const q = useWidgetQuery(UserCountQuery, {});
  const count = q.data?.userCount;
  return (
    <Widget title="Users" fetching={q.fetching} error={q.error} hasData={q.hasData} onRetry={q.refetch}>
      {count !== undefined ? <p data-testid="user-count">{userCountText(count)}</p> : null}
    </Widget>
  );
}

function UserTable() {
  const [page, setPage] = useState(0);
  const q = useWidgetQuery(UsersQuery, { limit: PAGE, offset: page * PAGE });
  const users = q.data?.users;
  const rows = users?.items ?? [];
  return (
    <>
      <Widget
        title="User accounts"
        fetching={q.fetching}
        error={q.error}
        hasData={q.hasData}
        empty={rows.length === 0}
        emptyText="No user has an account yet."
        onRetry={q.refetch}
      >
        <StackedTable
          caption="User accounts"
          rows={rows}
          rowKey={(u) => u.id}
          columns={[
            { header: "Name", cell: (u) => u.name },
            { header: "Display name", cell: (u) => u.displayName },
            { header: "Role", cell: (u) => u.role ?? "none" },
            { header: "Created", cell: (u) => formatDateTime(u.createdAt) },
            { header: "Last seen", cell: (u) => formatDateTime(u.lastSeenAt) },
            { header: "Disabled", cell: (u) => (u.disabledAt ? formatDateTime(u.disabledAt) : "no") },
          ]}
        />
      </Widget>
      <nav className="toolbar" aria-label="Pages of users">
        <button type="button" disabled={page === 0} onClick={() => setPage(page - 1)}>
          Previous
        </button>
        <span>Page {formatInteger(page + 1)}</span>
        <button
          type="button"
          disabled={users?.nextOffset === null || users?.nextOffset === undefined}
          onClick={() => setPage(page + 1)}
        >
          Next
        </button>
      </nav>
    </>
  );
}

/** The user count for everyone; the user table for admins only. */
export function StatusUsers() {
  const me = useWidgetQuery(MyRoleQuery, {});
  const isAdmin = me.data?.me.role === "admin";
  return (
    <>
      <UserCount />
      {isAdmin ? <UserTable /> : null}
    </>
  );
}
