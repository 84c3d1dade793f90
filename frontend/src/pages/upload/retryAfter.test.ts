import { afterEach, describe, expect, it, vi } from "vitest";

import { ApiError } from "../../api/errors";
import { completeSession } from "./api";
import { apiWait, retryAfterSeconds, waitMs, withRetryAfter, xhrWait } from "./retryAfter";

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

/** An error as Uppy gives it for a part PUT: the XMLHttpRequest as its source. */
function partError(status: number, retryAfter: string | null): Error {
  const xhr = new XMLHttpRequest();
  Object.defineProperty(xhr, "status", { value: status });
  xhr.getResponseHeader = (name: string) => (name.toLowerCase() === "retry-after" ? retryAfter : null);
  return Object.assign(new Error("Non 2xx"), { source: xhr });
}

function answer(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
}

describe("retryAfterSeconds", () => {
  it("reads seconds and HTTP dates, and nothing else", () => {
    expect(retryAfterSeconds("7")).toBe(7);
    expect(retryAfterSeconds(" 0 ")).toBe(0);
    const now = Date.parse("2024-05-01T10:00:00Z");
    expect(retryAfterSeconds("Wed, 01 May 2024 10:00:12 GMT", now)).toBe(12);
    expect(retryAfterSeconds("Wed, 01 May 2024 09:00:00 GMT", now)).toBe(0);
    expect(retryAfterSeconds("soon")).toBeNull();
    expect(retryAfterSeconds(null)).toBeNull();
  });
});

describe("waits", () => {
  it("honours Retry-After on 409, 429 and 503 only, up to a minute", () => {
    expect(waitMs(429, "3")).toBe(3000);
    expect(waitMs(409, "5")).toBe(5000);
    expect(waitMs(503, "600")).toBe(60_000);
    expect(waitMs(429, null)).toBeNull();
    expect(waitMs(400, "3")).toBeNull();
  });

  it("reads our calls' errors and Uppy's part errors", () => {
    expect(apiWait(new ApiError(409, "Part 2 is being written", undefined, "conflict", "5"))).toBe(5000);
    expect(apiWait(new ApiError(409, "The session is completed"))).toBeNull();
    expect(apiWait(new Error("offline"))).toBeNull();
    expect(xhrWait(partError(429, "30"))).toBe(30_000);
    expect(xhrWait(partError(500, null))).toBeNull();
    expect(xhrWait(new Error("Unknown error"))).toBeNull();
  });
});

describe("withRetryAfter", () => {
  it("sends the call again after the time said", async () => {
    vi.useFakeTimers();
    const call = vi
      .fn<() => Promise<string>>()
      .mockRejectedValueOnce(partError(429, "2"))
      .mockResolvedValueOnce("etag-1");
    const done = withRetryAfter(call, { waitOf: xhrWait });
    await vi.advanceTimersByTimeAsync(1999);
    expect(call).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    await expect(done).resolves.toBe("etag-1");
    expect(call).toHaveBeenCalledTimes(2);
  });

  it("gives up after a few tries, with the last error", async () => {
    vi.useFakeTimers();
    const refused = partError(429, "1");
    const call = vi.fn<() => Promise<string>>().mockRejectedValue(refused);
    const done = withRetryAfter(call, { waitOf: xhrWait, tries: 3 });
    const outcome = expect(done).rejects.toBe(refused);
    await vi.advanceTimersByTimeAsync(3000);
    await outcome;
    expect(call).toHaveBeenCalledTimes(4);
  });

  it("fails at once on an answer that does not say when to ask again", async () => {
    const refused = partError(500, null);
    const call = vi.fn<() => Promise<string>>().mockRejectedValue(refused);
    await expect(withRetryAfter(call, { waitOf: xhrWait })).rejects.toBe(refused);
    expect(call).toHaveBeenCalledTimes(1);
  });

  it("stops waiting when the upload is paused or cancelled", async () => {
    const controller = new AbortController();
    const call = vi.fn<() => Promise<string>>().mockRejectedValue(partError(429, "30"));
    const done = withRetryAfter(call, { waitOf: xhrWait, signal: controller.signal });
    await vi.waitFor(() => expect(call).toHaveBeenCalledTimes(1)); // now waiting its 30 s
    await new Promise((resolve) => setTimeout(resolve, 0));
    controller.abort();
    await expect(done).rejects.toMatchObject({ name: "AbortError" });
    expect(call).toHaveBeenCalledTimes(1);
  });
});

describe("completeSession", () => {
  it("asks again after the Retry-After of a 409 while a part is still being written", async () => {
    vi.useFakeTimers();
    const fetch = vi
      .fn<typeof globalThis.fetch>()
      .mockResolvedValueOnce(answer(409, { error: "Part 3 is still being written" }, { "Retry-After": "5" }))
      .mockResolvedValueOnce(answer(202, { task_id: "t1", status_url: "/api/ingest/status/t1", duplicate: false }));
    vi.stubGlobal("fetch", fetch);
    const done = completeSession("s1", [{ number: 1, etag: "e1" }]);
    await vi.advanceTimersByTimeAsync(4999);
    expect(fetch).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    await expect(done).resolves.toMatchObject({ task_id: "t1" });
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it("fails on a 409 without Retry-After, as before", async () => {
    const fetch = vi.fn<typeof globalThis.fetch>().mockResolvedValue(answer(409, { error: "The session is aborted" }));
    vi.stubGlobal("fetch", fetch);
    await expect(completeSession("s1", [])).rejects.toMatchObject({ status: 409 });
    expect(fetch).toHaveBeenCalledTimes(1);
  });
});
