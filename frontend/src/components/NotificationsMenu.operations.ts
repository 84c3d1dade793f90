// The notifications' GraphQL operations, typed by hand: the notifications API is being added to
// the service alongside this menu, so schema.graphql (and codegen's types) do not have it yet.
// Plain strings, not graphql() documents, so that codegen does not check them against the schema.
// Once schema.graphql has these fields, they can move to graphql() and generated types.

export type NotificationKind = "task_succeeded" | "task_failed" | "workbook_shared" | "workbook_changed";

export interface NotificationItem {
  id: string;
  kind: NotificationKind | string;
  /** A sentence. */
  title: string;
  body: string | null;
  /** An app path such as /tasks/<id> or /workbooks/<id>. */
  link: string | null;
  createdAt: string;
  readAt: string | null;
}

export interface UnreadCountData {
  unreadNotificationCount: number;
}

export interface NotificationsData {
  notifications: { items: NotificationItem[]; unread: number };
}

export interface NotificationsVariables {
  first: number;
}

export interface MarkReadData {
  markNotificationsRead: number;
}

export interface MarkReadVariables {
  ids?: string[] | null;
  all?: boolean;
}

export interface NewNotificationData {
  notifications: NotificationItem;
}

export const UnreadCountQuery = `
  query UnreadNotificationCount {
    unreadNotificationCount
  }
`;

export const NotificationsQuery = `
  query Notifications($first: Int!) {
    notifications(first: $first) {
      items {
        id
        kind
        title
        body
        link
        createdAt
        readAt
      }
      unread
    }
  }
`;

export const MarkReadMutation = `
  mutation MarkNotificationsRead($ids: [ID!], $all: Boolean) {
    markNotificationsRead(ids: $ids, all: $all)
  }
`;

export const NewNotificationsSubscription = `
  subscription NewNotifications {
    notifications {
      id
      kind
      title
      body
      link
      createdAt
      readAt
    }
  }
`;
