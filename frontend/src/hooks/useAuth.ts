import { useEffect, useSyncExternalStore } from "react";
import { useLocation } from "react-router";

import { getAuthState, SIGN_IN_PATH, startAuth, subscribeAuth, type AuthState } from "../api/auth";

export function useAuth(): AuthState {
  return useSyncExternalStore(subscribeAuth, getAuthState, getAuthState);
}

/**
 * What the app shows at this address:
 * - checking: nothing yet (the service is asked whether this browser has a session)
 * - sign-in: the sign-in page
 * - leave: the sign-in page's address while signed in: go back where the person came from
 * - to-sign-in: any other page while signed out: go to the sign-in page, remembering this one
 * - app: the page itself
 */
export type SignInGate = "checking" | "sign-in" | "leave" | "to-sign-in" | "app";

export function signInGate(state: AuthState, pathname: string): SignInGate {
  if (state.status === "checking") return "checking";
  const signedIn = state.status === "session" || state.status === "token";
  if (pathname === SIGN_IN_PATH) return signedIn ? "leave" : "sign-in";
  return state.status === "signed-out" ? "to-sign-in" : "app";
}

/** Asks the service for its session on start (and after a token is dropped); says what to show. */
export function useSignInGate(): SignInGate {
  const state = useAuth();
  const { pathname } = useLocation();
  useEffect(() => {
    if (state.status === "checking") void startAuth();
  }, [state.status]);
  return signInGate(state, pathname);
}
