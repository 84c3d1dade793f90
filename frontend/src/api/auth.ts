// The API token for this browser session (sessionStorage), and the sign-in prompt's state.
// Every GraphQL and REST call reads the token from here; a 401 anywhere asks for one.

const KEY = "sales-ingest.token";

export interface AuthState {
  token: string | null;
  /** Why the user is asked to sign in; null when no sign-in is asked for. */
  signInReason: string | null;
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

let state: AuthState = { token: readToken(), signInReason: null, generation: 0 };
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

export function authHeaders(): Record<string, string> {
  return state.token ? { Authorization: `Bearer ${state.token}` } : {};
}

/** Called when the server answered 401: ask once for a token, whatever called. */
export function requireSignIn(reason: string): void {
  if (state.signInReason === null) update({ signInReason: reason });
}

export function signIn(token: string): void {
  const trimmed = token.trim();
  try {
    window.sessionStorage.setItem(KEY, trimmed);
  } catch {
    /* kept in memory only */
  }
  update({ token: trimmed, signInReason: null, generation: state.generation + 1 });
}

export function signOut(): void {
  try {
    window.sessionStorage.removeItem(KEY);
  } catch {
    /* nothing stored */
  }
  update({ token: null, signInReason: null, generation: state.generation + 1 });
}

export function dismissSignIn(): void {
  update({ signInReason: null });
}

/** For tests: start again from what sessionStorage holds. */
export function resetAuthForTests(): void {
  state = { token: readToken(), signInReason: null, generation: 0 };
}
