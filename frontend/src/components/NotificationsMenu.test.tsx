import { act, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router";
import { Client, Provider, fetchExchange, subscriptionExchange } from "urql";
import { describe, expect, it } from "vitest";

import { NotificationsMenu } from "./NotificationsMenu";
import type { NotificationItem } from "./NotificationsMenu.operations";

const shared: NotificationItem = {
  id: "n1",
  kind: "workbook_shared",
  title: "Alice shared the workbook North branch margins with you.",
  body: null,
  link: "/workbooks/wb1",
  createdAt: new Date(Date.now() - 5 * 60_000).toISOString(),
  readAt: null,
};
const finished: NotificationItem = {
  ...shared,
  id: "n2",
  kind: "task_succeeded",
  title: "Your upload of data.csv finished.",
  link: "/tasks/t1",
};

interface Sent {
  operationName: string;
  variables: Record<string, unknown>;
}

/** A notifications server in memory: what it holds, what it was asked, and a way to push one live. */
function fakeServer(initial: NotificationItem[], withNotifications = true) {
  let items = [...initial];
  const sent: Sent[] = [];
  const subscribed: string[] = [];
  let push: ((item: NotificationItem) => void) | null = null;
  const unread = () => items.filter((item) => item.readAt === null).length;
  const answer = ({ operationName, variables }: Sent): unknown => {
    if (operationName === "UnreadNotificationCount") return { unreadNotificationCount: unread() };
    if (operationName === "NotificationsList") return { notifications: { items, unread: unread() } };
    if (operationName === "MarkNotificationsRead") {
      const ids = (variables.ids as string[] | null | undefined) ?? [];
      const now = new Date().toISOString();
      items = items.map((item) => (variables.all || ids.includes(item.id) ? { ...item, readAt: now } : item));
      return { markNotificationsRead: unread() };
    }
    return null;
  };
  const fetch = (_input: RequestInfo | URL, init?: RequestInit) => {
    const body = JSON.parse(String(init?.body)) as Sent;
    body.variables ??= {};
    sent.push(body);
    const reply = withNotifications
      ? { data: answer(body) }
      : { data: null, errors: [{ message: "Cannot query field 'unreadNotificationCount' on type 'Query'." }] };
    return Promise.resolve(new Response(JSON.stringify(reply), { headers: { "Content-Type": "application/json" } }));
  };
  const live = subscriptionExchange({
    forwardSubscription: () => ({
      subscribe(sink) {
        subscribed.push("notifications");
        push = (item) => sink.next({ data: { notifications: item } });
        return { unsubscribe: () => (push = null) };
      },
    }),
  });
  const client = new Client({ url: "/graphql", fetch, preferGetMethod: false, exchanges: [fetchExchange, live] });
  return {
    client,
    sent,
    subscribed,
    arrive(item: NotificationItem) {
      if (push === null) throw new Error("no subscription is open to push the notification to");
      items = [item, ...items];
      push(item);
    },
  };
}

function renderMenu(client: Client) {
  render(
    <Provider value={client}>
      <MemoryRouter>
        <NotificationsMenu />
      </MemoryRouter>
    </Provider>,
  );
}

describe("NotificationsMenu", () => {
  it("shows the unread count on the bell and follows new notifications live", async () => {
    const server = fakeServer([shared]);
    renderMenu(server.client);
    expect(await screen.findByRole("button", { name: "Notifications, 1 unread" })).toBeVisible();
    // The socket opens once the count is known, in an effect after that render: a notification
    // pushed before it opens would reach no one, so wait for it as a browser would be connected.
    await waitFor(() => expect(server.subscribed).toEqual(["notifications"]));
    act(() => server.arrive(finished));
    expect(await screen.findByRole("button", { name: "Notifications, 2 unread" })).toBeVisible();
  });

  it("lists the notifications and marks them all as read", async () => {
    const server = fakeServer([shared, finished]);
    renderMenu(server.client);
    const bell = await screen.findByRole("button", { name: "Notifications, 2 unread" });
    await userEvent.click(bell);
    expect(bell).toHaveAttribute("aria-expanded", "true");
    expect(await screen.findByRole("link", { name: `Unread: ${shared.title}` })).toHaveAttribute(
      "href",
      "/workbooks/wb1",
    );
    expect(screen.getAllByText("5 minutes ago")).toHaveLength(2);
    await userEvent.click(screen.getByRole("button", { name: "Mark all as read" }));
    expect(await screen.findByRole("button", { name: "Notifications, none unread" })).toBeVisible();
    expect(await screen.findByRole("link", { name: shared.title })).toBeVisible();
    expect(server.sent.find((s) => s.operationName === "MarkNotificationsRead")?.variables).toEqual({ all: true });
  });

  it("marks one as read when it is opened, and Escape closes the list", async () => {
    const server = fakeServer([shared, finished]);
    renderMenu(server.client);
    const bell = await screen.findByRole("button", { name: "Notifications, 2 unread" });
    await userEvent.click(bell);
    await userEvent.click(await screen.findByRole("link", { name: `Unread: ${finished.title}` }));
    expect(await screen.findByRole("button", { name: "Notifications, 1 unread" })).toBeVisible();
    expect(server.sent.find((s) => s.operationName === "MarkNotificationsRead")?.variables).toEqual({ ids: ["n2"] });
    expect(bell).toHaveAttribute("aria-expanded", "false");
    await userEvent.click(bell);
    await userEvent.keyboard("{Escape}");
    expect(bell).toHaveAttribute("aria-expanded", "false");
    expect(bell).toHaveFocus();
  });

  it("is a plain bell, with no socket opened, on a server without notifications", async () => {
    const server = fakeServer([], false);
    renderMenu(server.client);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(screen.getByRole("button", { name: "Notifications" })).toBeVisible();
    expect(server.sent.map((s) => s.operationName)).toEqual(["UnreadNotificationCount"]);
    expect(server.subscribed).toEqual([]);
  });
});
