// The bell in the header: the unread count, kept current by the notifications subscription over
// the GraphQL websocket (a poll every 30 s when the socket cannot be used), and a popover with the
// latest notifications, each marked read when opened, and "Mark all as read".
import { useEffect, useEffectEvent, useId, useRef, useState } from "react";
import { Link } from "react-router";
import { useMutation, useQuery, useSubscription } from "urql";

import { describeError } from "../api/errors";
import { formatAgo, formatDateTime, formatInteger } from "../format";
import { usePolling } from "../hooks/usePolling";
import {
  MarkReadMutation,
  NewNotificationsSubscription,
  NotificationsQuery,
  UnreadCountQuery,
  type MarkReadData,
  type MarkReadVariables,
  type NewNotificationData,
  type NotificationItem,
  type NotificationsData,
  type NotificationsVariables,
  type UnreadCountData,
} from "./NotificationsMenu.operations";

const SHOWN = 20;
const FALLBACK_POLL_MS = 30_000;

export function bellLabel(unread: number | undefined): string {
  if (unread === undefined) return "Notifications";
  return unread === 0 ? "Notifications, none unread" : `Notifications, ${formatInteger(unread)} unread`;
}

function Item({ item, onOpen }: { item: NotificationItem; onOpen: (item: NotificationItem) => void }) {
  const unread = item.readAt === null;
  const when = (
    <time dateTime={item.createdAt} title={formatDateTime(item.createdAt)}>
      {formatAgo(item.createdAt)}
    </time>
  );
  return (
    <li className={unread ? "notification unread" : "notification"} data-notification={item.id}>
      {item.link ? (
        <Link to={item.link} onClick={() => onOpen(item)}>
          {unread ? <span className="visually-hidden">Unread:</span> : null} {item.title}
        </Link>
      ) : (
        <span>
          {unread ? <span className="visually-hidden">Unread:</span> : null} {item.title}
        </span>
      )}
      {item.body ? <span className="notification-body">{item.body}</span> : null}
      <span className="notification-meta">
        {when}
        {unread && !item.link ? (
          <button type="button" className="link-button" onClick={() => onOpen(item)}>
            Mark as read
          </button>
        ) : null}
      </span>
    </li>
  );
}

function useNotifications(open: boolean) {
  const [count, refetchCount] = useQuery<UnreadCountData>({ query: UnreadCountQuery });
  const [list, refetchList] = useQuery<NotificationsData, NotificationsVariables>({
    query: NotificationsQuery,
    variables: { first: SHOWN },
    pause: !open,
  });
  // Subscribed once the count came back: a server without notifications opens no socket for them.
  const [live] = useSubscription<NewNotificationData>({
    query: NewNotificationsSubscription,
    pause: typeof count.data?.unreadNotificationCount !== "number",
  });
  const refresh = () => {
    refetchCount({ requestPolicy: "network-only" });
    if (open) refetchList({ requestPolicy: "network-only" });
  };
  const onNew = useEffectEvent(refresh);
  const newest = live.data?.notifications.id;
  useEffect(() => {
    if (newest !== undefined) onNew();
  }, [newest]);
  usePolling(refresh, FALLBACK_POLL_MS, live.error !== undefined && count.error === undefined);
  return { count, list, refresh };
}

export function NotificationsMenu() {
  const id = useId();
  const [open, setOpen] = useState(false);
  const { count, list, refresh } = useNotifications(open);
  const [, markRead] = useMutation<MarkReadData, MarkReadVariables>(MarkReadMutation);
  const [problem, setProblem] = useState<string | null>(null);
  const button = useRef<HTMLButtonElement>(null);
  const root = useRef<HTMLDivElement>(null);
  const unread = count.data?.unreadNotificationCount;
  const items = list.data?.notifications.items ?? [];

  const close = useEffectEvent((focusButton: boolean) => {
    setOpen(false);
    if (focusButton) button.current?.focus();
  });
  useEffect(() => {
    if (!open) return undefined;
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape") close(true);
    };
    const onPointer = (event: PointerEvent) => {
      if (root.current && !root.current.contains(event.target as Node)) close(false);
    };
    document.addEventListener("keydown", onKey);
    document.addEventListener("pointerdown", onPointer);
    return () => {
      document.removeEventListener("keydown", onKey);
      document.removeEventListener("pointerdown", onPointer);
    };
  }, [open]);

  const mark = async (variables: MarkReadVariables) => {
    setProblem(null);
    const result = await markRead(variables);
    if (result.error)
      setProblem(`The notifications could not be marked as read: ${describeError(result.error).message}`);
    refresh();
  };
  const openItem = (item: NotificationItem) => {
    if (item.readAt === null) void mark({ ids: [item.id] });
    if (item.link) setOpen(false);
  };

  return (
    <div className="notifications" ref={root}>
      <button
        ref={button}
        type="button"
        className="bell"
        aria-label={bellLabel(unread)}
        aria-expanded={open}
        aria-controls={`${id}-popover`}
        onClick={() => setOpen((was) => !was)}
      >
        <svg className="bell-icon" viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false">
          <path
            fill="currentColor"
            d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22zm7-6V11a7 7 0 0 0-5.5-6.84V3a1.5 1.5 0 0 0-3 0v1.16A7 7 0 0 0 5 11v5l-2 2v1h18v-1z"
          />
        </svg>
        {unread ? (
          <span className="bell-count" aria-hidden="true">
            {unread > 99 ? "99+" : formatInteger(unread)}
          </span>
        ) : null}
      </button>
      <div id={`${id}-popover`} className="notifications-popover" hidden={!open}>
        <div className="notifications-header">
          <h2 id={`${id}-title`}>Notifications</h2>
          <button type="button" className="link-button" disabled={!unread} onClick={() => void mark({ all: true })}>
            Mark all as read
          </button>
        </div>
        {problem ? <p role="alert">{problem}</p> : null}
        {list.error ? (
          <p role="alert">The notifications could not be loaded: {describeError(list.error).message}</p>
        ) : null}
        {open && !list.data && !list.error ? <p role="status">Loading the notifications…</p> : null}
        {list.data && items.length === 0 ? <p>You have no notifications.</p> : null}
        {items.length > 0 ? (
          <ul className="notification-list" aria-labelledby={`${id}-title`}>
            {items.map((item) => (
              <Item key={item.id} item={item} onOpen={openItem} />
            ))}
          </ul>
        ) : null}
      </div>
    </div>
  );
}
