import { Suspense, type ReactNode } from "react";
import { Navigate, useLocation, useSearchParams } from "react-router";

import { safeReturnPath, SIGN_IN_PATH } from "../api/auth";
import { useAuth, useSignInGate } from "../hooks/useAuth";
import SignInPage from "../pages/SignInPage";

interface Props {
  /** Shown while a page's chunk loads (the Suspense fallback). */
  fallback: ReactNode;
  /** The app's pages (its Routes), rendered only once someone is signed in. */
  children: ReactNode;
}

/** The app's pages once signed in; before that, the sign-in page (or the way to it): nothing
 * behind it asks the service for data that it would refuse. */
export function SignInGate({ fallback, children }: Props) {
  const gate = useSignInGate();
  const { signedOutByUser } = useAuth();
  const location = useLocation();
  const [params] = useSearchParams();
  if (gate === "app") return <Suspense fallback={fallback}>{children}</Suspense>;
  if (gate === "checking") {
    return (
      <p role="status" className="page-loading">
        Checking whether you are signed in…
      </p>
    );
  }
  if (gate === "leave") return <Navigate to={safeReturnPath(params.get("next"))} replace />;
  if (gate === "to-sign-in") {
    // A person who signed out starts afresh; anyone else comes back to this page after signing in.
    const here = `${location.pathname}${location.search}${location.hash}`;
    const target = signedOutByUser || here === "/" ? SIGN_IN_PATH : `${SIGN_IN_PATH}?next=${encodeURIComponent(here)}`;
    return <Navigate to={target} replace />;
  }
  return <SignInPage />;
}
