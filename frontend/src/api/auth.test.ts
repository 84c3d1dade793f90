import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { fakeServer, json, SESSION } from "../test/fakeServer";
import {
  authHeaders,
  getAuthState,
  requireSignIn,
  resetAuthForTests,
  retryAfterSentence,
  safeReturnPath,
  signIn,
  signInWithPassword,
  signOut,
  startAuth,
} from "./auth";
import { makeClient } from "./client";
import { requestJson } from "./rest";

describe("auth", () => {
  beforeEach(() => {
    window.sessionStorage.clear();
    resetAuthForTests();
  });
  afterEach(() => vi.unstubAllGlobals());

  it("starts a session from GET /api/auth/session and keeps the CSRF token in memory", async () => {
    const { sent } = fakeServer({ "GET /api/auth/session": json(200, SESSION) });
    expect(getAuthState().status).toBe("checking");
    await startAuth();
    expect(getAuthState()).toMatchObject({ status: "session", user: SESSION.user, token: null });
    expect(sent[0]).toMatchObject({ method: "GET", path: "/api/auth/session", credentials: "same-origin" });
    expect(window.sessionStorage.length).toBe(0);
    expect(authHeaders("GET")).toEqual({});
    expect(authHeaders("POST")).toEqual({ "X-CSRF-Token": "csrf-123" });
  });

  it("asks once however many callers start it", async () => {
    const { sent } = fakeServer({ "GET /api/auth/session": json(200, SESSION) });
    await Promise.all([startAuth(), startAuth(), startAuth()]);
    expect(sent).toHaveLength(1);
  });

  it("is signed out when the service has no session for this browser", async () => {
    fakeServer({ "GET /api/auth/session": json(401, { error: "no session" }) });
    await startAuth();
    expect(getAuthState().status).toBe("signed-out");
    expect(authHeaders("POST")).toEqual({});
  });

  it("shows the pages as before when the service has no sign-in sessions (404)", async () => {
    fakeServer({});
    await startAuth();
    expect(getAuthState().status).toBe("open");
  });

  it("uses the stored token without asking for a session", async () => {
    window.sessionStorage.setItem("sales-ingest.token", "sit_x");
    resetAuthForTests();
    const { sent } = fakeServer({});
    await startAuth();
    expect(sent).toHaveLength(0);
    expect(getAuthState().status).toBe("token");
    expect(authHeaders("POST")).toEqual({ Authorization: "Bearer sit_x" });
    expect(authHeaders("GET")).toEqual({ Authorization: "Bearer sit_x" });
  });

  it("sends X-CSRF-Token on REST writes only, with same-origin credentials", async () => {
    const { sent } = fakeServer({
      "GET /api/auth/session": json(200, SESSION),
      "GET /api/things": json(200, []),
      "PATCH /api/users/me": json(200, {}),
      "DELETE /api/things/1": json(204, null),
    });
    await startAuth();
    await requestJson("/api/things");
    await requestJson("/api/users/me", { method: "PATCH", body: "{}" });
    await requestJson("/api/things/1", { method: "DELETE" });
    const [read, patch, remove] = sent.slice(1);
    expect(read?.headers.get("X-CSRF-Token")).toBeNull();
    expect(read?.headers.get("Authorization")).toBeNull();
    expect(patch?.headers.get("X-CSRF-Token")).toBe("csrf-123");
    expect(remove?.headers.get("X-CSRF-Token")).toBe("csrf-123");
    expect(sent.slice(1).every((request) => request.credentials === "same-origin")).toBe(true);
  });

  it("sends X-CSRF-Token on GraphQL POSTs", async () => {
    const { sent } = fakeServer({
      "GET /api/auth/session": json(200, SESSION),
      "POST /graphql": json(200, { data: { __typename: "Query" } }),
    });
    await startAuth();
    const result = await makeClient().query("query Probe { __typename }", {}).toPromise();
    expect(result.error).toBeUndefined();
    const post = sent.find((request) => request.path === "/graphql");
    expect(post?.method).toBe("POST");
    expect(post?.headers.get("X-CSRF-Token")).toBe("csrf-123");
    expect(post?.credentials).toBe("same-origin");
  });

  it("ends the session on a 401 anywhere, remembering why", async () => {
    fakeServer({
      "GET /api/auth/session": json(200, SESSION),
      "GET /api/things": json(401, { error: "the session has expired", code: "unauthorized" }),
    });
    await startAuth();
    const generation = getAuthState().generation;
    await expect(requestJson("/api/things")).rejects.toThrow("the session has expired");
    expect(getAuthState()).toMatchObject({
      status: "signed-out",
      user: null,
      sessionEndedReason: "the session has expired",
      signedOutByUser: false,
      signInReason: null, // no token dialog: the sign-in page is shown instead
    });
    expect(getAuthState().generation).toBe(generation + 1);
    expect(authHeaders("POST")).toEqual({});
  });

  it("a GraphQL 401 in session mode ends the session too", async () => {
    fakeServer({
      "GET /api/auth/session": json(200, SESSION),
      "POST /graphql": json(401, { error: "the session has expired", code: "unauthorized" }),
    });
    await startAuth();
    await makeClient().query("query Probe { __typename }", {}).toPromise();
    expect(getAuthState().status).toBe("signed-out");
  });

  it("keeps asking for a token on a 401 in token mode", () => {
    signIn("sit_old");
    requireSignIn("the token was revoked");
    expect(getAuthState()).toMatchObject({ status: "token", signInReason: "the token was revoked" });
  });

  it("signs in with a password, dropping a stored token", async () => {
    window.sessionStorage.setItem("sales-ingest.token", "sit_x");
    resetAuthForTests();
    const { sent } = fakeServer({ "POST /api/auth/login": json(200, SESSION) });
    await signInWithPassword("ada", "correct horse");
    expect(sent[0]?.body).toEqual({ name: "ada", password: "correct horse" });
    expect(getAuthState()).toMatchObject({ status: "session", token: null });
    expect(window.sessionStorage.getItem("sales-ingest.token")).toBeNull();
    expect(authHeaders("POST")).toEqual({ "X-CSRF-Token": "csrf-123" });
  });

  it("a wrong password is the server's sentence and no sign-in dialog", async () => {
    fakeServer({
      "GET /api/auth/session": json(401, { error: "no session" }),
      "POST /api/auth/login": json(401, { error: "the name or password is not right", code: "unauthorized" }),
    });
    await startAuth();
    await expect(signInWithPassword("ada", "wrong")).rejects.toMatchObject({
      status: 401,
      message: "the name or password is not right",
    });
    expect(getAuthState()).toMatchObject({ status: "signed-out", signInReason: null });
  });

  it("too many attempts say when to try again", async () => {
    fakeServer({ "POST /api/auth/login": json(429, { error: "too many sign-in attempts" }, { "Retry-After": "30" }) });
    await expect(signInWithPassword("ada", "wrong")).rejects.toMatchObject({
      status: 429,
      message: "too many sign-in attempts",
      detail: "Try again in 30 seconds.",
    });
  });

  it("signs out with the CSRF token, here or everywhere", async () => {
    const { sent } = fakeServer({
      "GET /api/auth/session": json(200, SESSION),
      "POST /api/auth/logout": json(204, null),
      "POST /api/auth/login": json(200, SESSION),
      "POST /api/auth/logout?everywhere=true": json(204, null),
    });
    await startAuth();
    await signOut();
    expect(sent[1]).toMatchObject({ method: "POST", path: "/api/auth/logout", credentials: "same-origin" });
    expect(sent[1]?.headers.get("X-CSRF-Token")).toBe("csrf-123");
    expect(getAuthState()).toMatchObject({ status: "signed-out", signedOutByUser: true });

    await signInWithPassword("ada", "correct horse");
    await signOut({ everywhere: true });
    expect(sent[3]?.path).toBe("/api/auth/logout?everywhere=true");
    expect(sent[3]?.headers.get("X-CSRF-Token")).toBe("csrf-123");
    expect(getAuthState().status).toBe("signed-out");
  });

  it("signing out of token mode forgets the token and asks for a session again", async () => {
    signIn("sit_x");
    fakeServer({ "GET /api/auth/session": json(401, { error: "no session" }) });
    await signOut();
    expect(window.sessionStorage.getItem("sales-ingest.token")).toBeNull();
    expect(getAuthState()).toMatchObject({ status: "signed-out", token: null, signedOutByUser: true });
  });

  it("reads Retry-After as seconds or as a date", () => {
    expect(retryAfterSentence("1")).toBe("Try again in 1 second.");
    expect(retryAfterSentence("90")).toBe("Try again in 2 minutes.");
    const now = Date.parse("2030-01-01T00:00:00Z");
    expect(retryAfterSentence("Tue, 01 Jan 2030 00:00:20 GMT", now)).toBe("Try again in 20 seconds.");
    expect(retryAfterSentence(null)).toBe("Wait a little, then try again.");
  });

  it("returns only to a path of this app", () => {
    expect(safeReturnPath("/status?x=1")).toBe("/status?x=1");
    expect(safeReturnPath("//evil.example")).toBe("/");
    expect(safeReturnPath("https://evil.example")).toBe("/");
    expect(safeReturnPath("/sign-in?next=/x")).toBe("/");
    expect(safeReturnPath(null)).toBe("/");
  });
});
