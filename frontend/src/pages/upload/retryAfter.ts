// Answers that say when to ask again. The session API answers 429 with Retry-After while another
// request writes the part sent (or one that stopped less than 30 s ago), and complete answers 409
// with Retry-After while a part is still being written: such a request is sent again after the
// time said, a few times, instead of failing. An answer without Retry-After fails as before (Uppy
// then applies its own retries to a part).
import AwsS3 from "@uppy/aws-s3";

import { ApiError } from "../../api/errors";

/** The statuses whose Retry-After is honoured: conflict, too many requests, unavailable. */
const WAITED = new Set([409, 429, 503]);
/** How many times a request is sent again after a Retry-After. */
export const RETRY_AFTER_TRIES = 4;
/** The longest wait honoured, in seconds (a longer one is cut to it). */
export const MAX_WAIT_SECONDS = 60;

/** Seconds a Retry-After header asks for (a number of seconds or an HTTP date), or null. */
export function retryAfterSeconds(value: string | null | undefined, now: number = Date.now()): number | null {
  const given = value?.trim();
  if (!given) return null;
  if (/^\d+$/.test(given)) return Number(given);
  const at = Date.parse(given);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

/** Milliseconds to wait before asking again after an answer of `status`, or null when it does
 * not say to wait. */
export function waitMs(status: number | undefined, retryAfter: string | null | undefined): number | null {
  if (status === undefined || !WAITED.has(status)) return null;
  const seconds = retryAfterSeconds(retryAfter);
  return seconds === null ? null : Math.min(seconds, MAX_WAIT_SECONDS) * 1000;
}

/** The wait one of our calls' errors asks for (ApiError with Retry-After), or null. */
export function apiWait(error: unknown): number | null {
  return error instanceof ApiError ? waitMs(error.status, error.retryAfter) : null;
}

/** The wait a part PUT's error asks for: Uppy's error carries the XMLHttpRequest as `source`. */
export function xhrWait(error: unknown): number | null {
  const source = (error as { source?: unknown } | null)?.source;
  if (!(source instanceof XMLHttpRequest)) return null;
  return waitMs(source.status, source.getResponseHeader("Retry-After"));
}

function aborted(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException("The request was aborted.", "AbortError");
}

/** Resolves after `ms`, or rejects when `signal` aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(aborted(signal));
    const stop = () => {
      clearTimeout(timer);
      reject(aborted(signal as AbortSignal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", stop);
      resolve();
    }, ms);
    signal?.addEventListener("abort", stop, { once: true });
  });
}

export interface RetryOptions {
  /** Milliseconds the error asks to wait, or null: it is thrown. */
  waitOf: (error: unknown) => number | null;
  signal?: AbortSignal | undefined;
  tries?: number;
}

/** `call`, sent again after the wait its error asks for, at most `tries` times. */
export async function withRetryAfter<T>(call: () => Promise<T>, options: RetryOptions): Promise<T> {
  const tries = options.tries ?? RETRY_AFTER_TRIES;
  for (let again = 0; ; again += 1) {
    try {
      return await call();
    } catch (error) {
      const wait = again < tries ? options.waitOf(error) : null;
      if (wait === null || options.signal?.aborted) throw error;
      await sleep(wait, options.signal);
    }
  }
}

type PartBytes = Parameters<typeof AwsS3.uploadPartBytes>[0];

/** Uppy's own part PUT, sent again after the time a Retry-After says. */
export function uploadPartBytes(options: PartBytes): ReturnType<typeof AwsS3.uploadPartBytes> {
  return withRetryAfter(() => AwsS3.uploadPartBytes(options), { waitOf: xhrWait, signal: options.signal });
}
