import { act, renderHook } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

// What the task-list subscription delivered last (set by each step of the test).
let delivered: { data?: unknown; error?: Error } = {};
vi.mock("urql", async (importOriginal) => ({
  ...(await importOriginal<typeof import("urql")>()),
  useSubscription: () => [delivered],
}));

const { useTaskListUpdates } = await import("./useLiveUpdates");

function change(second: number) {
  const updatedAt = `2026-12-02T06:00:${String(second).padStart(2, "0")}Z`;
  return { data: { ingestionTasksUpdates: { taskId: "t1", status: "VALIDATING", updatedAt } } };
}

describe("useTaskListUpdates", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("refreshes at once, then once more for all the changes of the following second", () => {
    const refresh = vi.fn();
    delivered = change(1);
    const { rerender, unmount } = renderHook(() => useTaskListUpdates(null, refresh));
    expect(refresh).toHaveBeenCalledTimes(1);

    for (const second of [2, 3, 4]) {
      delivered = change(second);
      rerender();
    }
    expect(refresh).toHaveBeenCalledTimes(1); // a running upload ticks often: not once per tick
    act(() => vi.advanceTimersByTime(1000));
    expect(refresh).toHaveBeenCalledTimes(2); // the trailing refresh shows the last of them

    act(() => vi.advanceTimersByTime(10_000));
    expect(refresh).toHaveBeenCalledTimes(2); // nothing new, nothing more

    delivered = change(5);
    rerender();
    expect(refresh).toHaveBeenCalledTimes(3); // a second later, a change refreshes at once
    unmount();
  });

  it("stops a pending refresh when the page goes away", () => {
    const refresh = vi.fn();
    delivered = change(1);
    const { rerender, unmount } = renderHook(() => useTaskListUpdates(null, refresh));
    delivered = change(2);
    rerender();
    unmount();
    act(() => vi.advanceTimersByTime(5000));
    expect(refresh).toHaveBeenCalledTimes(1);
  });
});
