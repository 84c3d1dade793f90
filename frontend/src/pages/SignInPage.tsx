import { useEffect, useId, useState, type FormEvent } from "react";
import { useSearchParams } from "react-router";

import { askForToken, signInWithPassword } from "../api/auth";
import { describeError } from "../api/errors";
import { useAuth } from "../hooks/useAuth";
import { useDocumentTitle } from "../hooks/useDocumentTitle";

interface Methods {
  password: boolean;
  oidc: { label: string; start: string } | null;
}

/** Messages for the errors the service's redirects put in ?error= (see the sign-in contract). */
export const REDIRECT_ERRORS: Record<string, string> = {
  link: "This sign-in link was already used or has expired. Ask an administrator for a new one.",
  sso: "Single sign-on did not sign you in. Try again, or sign in with your name and password.",
};

/** The server's short messages ("the name or password is not right") as sentences. */
export function asSentence(text: string): string {
  const trimmed = text.trim();
  if (!trimmed) return trimmed;
  const first = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

function isLocalPath(value: unknown): value is string {
  return typeof value === "string" && value.startsWith("/") && !value.startsWith("//");
}

/** GET /api/auth/methods; on any failure, the password form alone. */
async function loadMethods(): Promise<Methods> {
  try {
    const response = await fetch("/api/auth/methods", { headers: { Accept: "application/json" } });
    if (!response.ok) return { password: true, oidc: null };
    const body = (await response.json()) as Partial<Methods>;
    const oidc = body.oidc && isLocalPath(body.oidc.start) ? body.oidc : null;
    return { password: body.password !== false, oidc };
  } catch {
    return { password: true, oidc: null };
  }
}

function useMethods(): Methods | null {
  const [methods, setMethods] = useState<Methods | null>(null);
  useEffect(() => {
    let live = true;
    void loadMethods().then((found) => {
      if (live) setMethods(found);
    });
    return () => {
      live = false;
    };
  }, []);
  return methods;
}

interface Problem {
  message: string;
  detail?: string | undefined;
}

function PasswordForm() {
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  const nameId = useId();
  const passwordId = useId();

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      await signInWithPassword(name.trim(), password);
      // signed in: the app leaves this page for the one the person came from
    } catch (error) {
      const described = describeError(error);
      setProblem({ message: asSentence(described.message), detail: described.detail });
      setPassword("");
      setBusy(false);
    }
  }

  return (
    <form className="sign-in-form" onSubmit={(event) => void submit(event)}>
      {problem ? (
        <div className="problem" role="alert">
          <p>{problem.message}</p>
          {problem.detail ? <p className="problem-detail">{asSentence(problem.detail)}</p> : null}
        </div>
      ) : null}
      <label htmlFor={nameId}>Name</label>
      <input
        id={nameId}
        name="username"
        autoComplete="username"
        autoCapitalize="none"
        spellCheck={false}
        value={name}
        onChange={(event) => setName(event.target.value)}
        required
      />
      <label htmlFor={passwordId}>Password</label>
      <input
        id={passwordId}
        name="password"
        type="password"
        autoComplete="current-password"
        value={password}
        onChange={(event) => setPassword(event.target.value)}
        required
      />
      <button type="submit" className="primary" disabled={busy}>
        {busy ? "Signing in…" : "Sign in"}
      </button>
    </form>
  );
}

/** The first screen without a session or a token: name and password, single sign-on when the
 * service offers it, or an API token (the token form of token mode). */
export default function SignInPage() {
  useDocumentTitle("Sign in");
  const [params] = useSearchParams();
  const { sessionEndedReason } = useAuth();
  const methods = useMethods();
  const redirectError = REDIRECT_ERRORS[params.get("error") ?? ""];

  return (
    <section className="sign-in-page" aria-labelledby="sign-in-title">
      <h1 id="sign-in-title">Sign in</h1>
      {redirectError ? (
        <p className="problem" role="alert">
          {redirectError}
        </p>
      ) : null}
      {sessionEndedReason ? (
        <p className="notice" role="status">
          Your session has ended ({sessionEndedReason}). Sign in again to go on where you were.
        </p>
      ) : null}
      {methods === null || methods.password ? <PasswordForm /> : null}
      {methods?.oidc ? (
        <p>
          <a className="button-link" href={methods.oidc.start}>
            {methods.oidc.label}
          </a>
        </p>
      ) : null}
      <p>
        <button
          type="button"
          className="link-button"
          onClick={() => askForToken("You chose to sign in with an API token.")}
        >
          Use an API token instead
        </button>
      </p>
    </section>
  );
}
