// The notifications' GraphQL operations, with the types codegen makes from schema.graphql.
import { graphql } from "../gql";
import type {
  MarkNotificationsReadMutation,
  MarkNotificationsReadMutationVariables,
  NewNotificationsSubscription as NewNotificationsResult,
  NotificationsListQuery,
  NotificationsListQueryVariables,
  UnreadNotificationCountQuery,
} from "../gql/graphql";

export type NotificationKind =
  "task_succeeded" | "task_failed" | "workbook_shared" | "workbook_changed" | "action_alert" | "action_failed";

/** One notification: `title` is a sentence; `link` an app path such as /tasks/<id>. */
export type NotificationItem = NotificationsListQuery["notifications"]["items"][number];
export type UnreadCountData = UnreadNotificationCountQuery;
export type NotificationsData = NotificationsListQuery;
export type NotificationsVariables = NotificationsListQueryVariables;
export type MarkReadData = MarkNotificationsReadMutation;
export type MarkReadVariables = MarkNotificationsReadMutationVariables;
export type NewNotificationData = NewNotificationsResult;

export const UnreadCountQuery = graphql(`
  query UnreadNotificationCount {
    unreadNotificationCount
  }
`);

export const NotificationsQuery = graphql(`
  query NotificationsList($first: Int!) {
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
`);

export const MarkReadMutation = graphql(`
  mutation MarkNotificationsRead($ids: [ID!], $all: Boolean) {
    markNotificationsRead(ids: $ids, all: $all)
  }
`);

export const NewNotificationsSubscription = graphql(`
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
`);
