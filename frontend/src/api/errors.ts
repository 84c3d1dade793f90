// One description of whatever went wrong, from either face of the API:
// REST answers {"error", "detail", "code"}; GraphQL errors carry extensions.code and .detail.
import type { CombinedError } from "@urql/core";

import type { components } from "./openapi";

export interface Problem {
  message: string;
  detail?: string | undefined;
  /** Upper case, as GraphQL's extensions.code: UNAUTHORIZED, FORBIDDEN, CONFLICT, ... */
  code?: string | undefined;
  status?: number | undefined;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string | undefined;
  readonly detail: string | undefined;
  /** The answer's Retry-After header (seconds, or an HTTP date), when it had one. */
  readonly retryAfter: string | undefined;

  constructor(status: number, message: string, detail?: string, code?: string, retryAfter?: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code?.toUpperCase();
    this.detail = detail;
    this.retryAfter = retryAfter;
  }
}

/** The service's error body (generated from its OpenAPI document), each value unchecked: a proxy
 * in front of it may answer with something else. */
type ErrorBody = Partial<Record<keyof components["schemas"]["ErrorBody"], unknown>>;

function text(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (value === null || value === undefined) return undefined;
  return JSON.stringify(value);
}

/** The error of a REST answer that is not 2xx, from its body when it has our shape. */
export function apiErrorFromBody(status: number, statusText: string, body: unknown, retryAfter?: string): ApiError {
  const shaped = (body ?? {}) as ErrorBody;
  const message = text(shaped.error) ?? (statusText || `HTTP ${status}`);
  return new ApiError(status, message, text(shaped.detail), text(shaped.code), retryAfter);
}

function fromCombined(error: CombinedError): Problem {
  const first = error.graphQLErrors[0];
  if (first) {
    const extensions = (first.extensions ?? {}) as Record<string, unknown>;
    const status = typeof extensions.status === "number" ? extensions.status : error.response?.status;
    return {
      message: first.message,
      detail: text(extensions.detail),
      code: text(extensions.code)?.toUpperCase(),
      status: typeof status === "number" ? status : undefined,
    };
  }
  const status = (error.response as Response | undefined)?.status;
  return {
    message: error.networkError?.message || "The server could not be reached",
    detail: status ? undefined : "Check that the service is running, then try again.",
    code: status === 401 ? "UNAUTHORIZED" : status === 403 ? "FORBIDDEN" : undefined,
    status,
  };
}

function isCombined(error: unknown): error is CombinedError {
  return (
    typeof error === "object" &&
    error !== null &&
    "graphQLErrors" in error &&
    Array.isArray((error as CombinedError).graphQLErrors)
  );
}

export function describeError(error: unknown): Problem {
  if (error instanceof ApiError) {
    return { message: error.message, detail: error.detail, code: error.code, status: error.status };
  }
  if (isCombined(error)) return fromCombined(error);
  if (error instanceof Error) return { message: error.message };
  return { message: String(error) };
}

export function isUnauthorized(problem: Problem): boolean {
  return problem.code === "UNAUTHORIZED" || problem.status === 401;
}

export function isForbidden(problem: Problem): boolean {
  return problem.code === "FORBIDDEN" || problem.status === 403;
}
