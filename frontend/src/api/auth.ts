// Who this browser is signed in as, in one of two modes:
// - "session": a person signed in on the sign-in page (or by a link, or by single sign-on); the
//   service keeps them in an HttpOnly cookie that the browser sends on its own. GET /api/auth/session
//   answers who they are and the CSRF token that every write (anything but GET/HEAD/OPTIONS) must
//   carry in X-CSRF-Token. Both are kept in memory only.
// - "token": an API token pasted into the token form, kept in sessionStorage (this tab only) and
//   sent as a bearer header.
// Every GraphQL and REST call asks here for its headers. A 401 in session mode sends the person
// to the sign-in page; in token mode (and against a service without sign-in) it asks for a token.
import { ApiError, apiErrorFromBody } from "./errors";

const KEY = "sales-ingest.token";
export const SIGN_IN_PATH = "/sign-in";
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export interface SessionUser {
  name: string;
  display_name: string | null;
  role: string;
}

interface SessionBody {
  user: SessionUser;
  csrf_token: string;
  expires_at: string;
}

/**
 * - checking: asking GET /api/auth/session (at start, or after a token was dropped)
 * - session: signed in by the cookie
 * - token: signed in with an API token
 * - signed-out: no session and no token; the app shows the sign-in page
 * - open: the service has no sign-in sessions (an older service, or one that could not be asked);
 *   the app shows its pages and asks for a token when the server answers 401, as it always did
 */
export type AuthStatus = "checking" | "session" | "token" | "signed-out" | "open";

export interface AuthState {
  status: AuthStatus;
  token: string | null;
  /** The person signed in by the cookie (session mode only). */
  user: SessionUser | null;
  /** Why the token form is shown; null when it is not. */
  signInReason: string | null;
  /** Why a session ended without the person asking (a 401); shown on the sign-in page. */
  sessionEndedReason: string | null;
  /** True when the person signed out themselves: the sign-in page does not offer to return. */
  signedOutByUser: boolean;
  /** Bumped on each sign-in or sign-out, so the GraphQL client and its cache are rebuilt. */
  generation: number;
}

type Listener = (state: AuthState) => void;

function readToken(): string | null {
  try {
    return window.sessionStorage.getItem(KEY);
  } catch {
    return null; // storage disabled: the token lives as long as the page
  }
}

function initialState(): AuthState {
  const token = readToken();
  return {
    status: token ? "token" : "checking",
    token,
    user: null,
    signInReason: null,
    sessionEndedReason: null,
    signedOutByUser: false,
    generation: 0,
  };
}

let state: AuthState = initialState();
/** The session's CSRF token: in memory only, never in storage. */
let csrfToken: string | null = null;
let checking: Promise<void> | null = null;
/** Bumped by resetAuthForTests: an answer to an older question is dropped. */
let epoch = 0;
const listeners = new Set<Listener>();

function update(next: Partial<AuthState>): void {
  state = { ...state, ...next };
  for (const listener of listeners) listener(state);
}

export function getAuthState(): AuthState {
  return state;
}

export function subscribeAuth(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The headers a request with this method needs: the bearer token, or the session's CSRF token
 * on writes. Session mode sends no credentials header on reads: the cookie is enough. */
export function authHeaders(method = "GET"): Record<string, string> {
  if (state.status === "token" && state.token) return { Authorization: `Bearer ${state.token}` };
  if (state.status === "session" && csrfToken && !SAFE_METHODS.has(method.toUpperCase())) {
    return { "X-CSRF-Token": csrfToken };
  }
  return {};
}

/** Cookies go with requests to this origin only (fetch's default, said out loud). */
export const CREDENTIALS: RequestCredentials = "same-origin";

function startSession(body: SessionBody): void {
  csrfToken = body.csrf_token;
  update({
    status: "session",
    user: body.user,
    signInReason: null,
    sessionEndedReason: null,
    signedOutByUser: false,
    generation: state.generation + 1,
  });
}

function endSession(reason: string | null, byUser: boolean): void {
  csrfToken = null;
  update({
    status: "signed-out",
    user: null,
    signInReason: null,
    sessionEndedReason: reason,
    signedOutByUser: byUser,
    generation: state.generation + 1,
  });
}

async function askSession(): Promise<void> {
  const asked = epoch;
  const stale = () => asked !== epoch || state.status !== "checking"; // a token was entered meanwhile
  let response: Response;
  try {
    response = await fetch("/api/auth/session", {
      credentials: CREDENTIALS,
      headers: { Accept: "application/json" },
    });
  } catch {
    if (!stale()) update({ status: "open" }); // the server cannot be reached: the pages say so
    return;
  }
  if (stale()) return;
  if (response.ok) {
    const body = (await response.json()) as SessionBody;
    if (!stale()) startSession(body);
  } else if (response.status === 401) {
    endSession(null, state.signedOutByUser);
  } else {
    update({ status: "open" }); // no sign-in sessions here (404): tokens only, as before
  }
}

/** Ask the service whether this browser has a session; once, however many callers ask. */
export function startAuth(): Promise<void> {
  if (state.status !== "checking") return Promise.resolve();
  checking ??= askSession().finally(() => {
    checking = null;
  });
  return checking;
}

/** Called when the server answered 401. In session mode the session is over: the app shows the
 * sign-in page (and returns here after). Otherwise ask once for a token, whatever called. */
export function requireSignIn(reason: string): void {
  if (state.status === "session") endSession(reason, false);
  else if (state.status === "signed-out")
    return; // the sign-in page is already shown
  else if (state.signInReason === null) update({ signInReason: reason });
}

/** Show the token form (the sign-in page's "Use an API token instead"). */
export function askForToken(reason: string): void {
  update({ signInReason: reason });
}

/** Sign in with an API token (token mode). */
export function signIn(token: string): void {
  const trimmed = token.trim();
  try {
    window.sessionStorage.setItem(KEY, trimmed);
  } catch {
    /* kept in memory only */
  }
  csrfToken = null;
  update({
    status: "token",
    token: trimmed,
    user: null,
    signInReason: null,
    sessionEndedReason: null,
    signedOutByUser: false,
    generation: state.generation + 1,
  });
}

/** "Try again in 2 minutes." from a Retry-After header (seconds or an HTTP date). */
export function retryAfterSentence(header: string | null, now: number = Date.now()): string {
  if (!header) return "Wait a little, then try again.";
  const asNumber = Number(header);
  const seconds = Number.isFinite(asNumber) ? asNumber : (Date.parse(header) - now) / 1000;
  if (!Number.isFinite(seconds)) return "Wait a little, then try again.";
  const whole = Math.max(1, Math.ceil(seconds));
  if (whole < 60) return `Try again in ${whole} second${whole === 1 ? "" : "s"}.`;
  const minutes = Math.ceil(whole / 60);
  return `Try again in ${minutes} minute${minutes === 1 ? "" : "s"}.`;
}

async function errorOf(response: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    /* not our error shape: the status text is all there is */
  }
  const error = apiErrorFromBody(response.status, response.statusText, body);
  if (response.status === 429) {
    return new ApiError(429, error.message, retryAfterSentence(response.headers.get("Retry-After")), error.code);
  }
  return error;
}

/** Sign in with a name and a password (session mode). Throws the server's ApiError: 401 says
 * "the name or password is not right", 429 carries when to try again in its detail. */
export async function signInWithPassword(name: string, password: string): Promise<void> {
  const response = await fetch("/api/auth/login", {
    method: "POST",
    credentials: CREDENTIALS,
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ name, password }),
  });
  if (!response.ok) throw await errorOf(response);
  dropToken();
  startSession((await response.json()) as SessionBody);
}

function dropToken(): void {
  try {
    window.sessionStorage.removeItem(KEY);
  } catch {
    /* nothing stored */
  }
  state = { ...state, token: null };
}

/** Sign out. In session mode the service ends this session (or every session of the person,
 * `everywhere`); in token mode the token is forgotten and the service is asked again whether a
 * session remains. Either way the app then shows the sign-in page (or, on a service without
 * sessions, its pages as before). */
export async function signOut(options: { everywhere?: boolean } = {}): Promise<void> {
  if (state.status === "session") {
    const path = options.everywhere ? "/api/auth/logout?everywhere=true" : "/api/auth/logout";
    const response = await fetch(path, {
      method: "POST",
      credentials: CREDENTIALS,
      headers: { ...authHeaders("POST"), Accept: "application/json" },
    });
    // 401: the session had already ended; anything else but success is the caller's to show
    if (!response.ok && response.status !== 401) throw await errorOf(response);
    endSession(null, true);
    return;
  }
  dropToken();
  csrfToken = null;
  update({
    status: "checking",
    user: null,
    signInReason: null,
    signedOutByUser: true,
    generation: state.generation + 1,
  });
  await startAuth();
}

export function dismissSignIn(): void {
  update({ signInReason: null });
}

/** A path of this app to return to after signing in: only a local path, never another site. */
export function safeReturnPath(value: string | null): string {
  if (!value || !value.startsWith("/") || value.startsWith("//") || value.startsWith("/\\")) return "/";
  if (value === SIGN_IN_PATH || value.startsWith(`${SIGN_IN_PATH}?`)) return "/";
  return value;
}

/** For tests: start again from what sessionStorage holds. */
export function resetAuthForTests(): void {
  state = initialState();
  csrfToken = null;
  checking = null;
  epoch += 1;
}
