import { useEffect, useId, useRef, useState } from "react";

import { NavLink } from "react-router";

import { signOut, type SessionUser } from "../api/auth";
import { describeError } from "../api/errors";
import { useAuth } from "../hooks/useAuth";

/** The header's corner: the signed-in person and their "Sign out" menu (session mode), or
 * today's "Sign out" button (token mode); nothing while nobody is signed in. */
export function SignInAccount() {
  const { status, user } = useAuth();
  if (status === "session" && user) return <AccountMenu user={user} />;
  if (status === "token") {
    return (
      <button type="button" className="sign-out" onClick={() => void signOut()}>
        Sign out
      </button>
    );
  }
  return null;
}

function AccountMenu({ user }: { user: SessionUser }) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const menuId = useId();
  const box = useRef<HTMLDivElement>(null);
  const trigger = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (!open) return;
    function onKey(event: KeyboardEvent) {
      if (event.key !== "Escape") return;
      setOpen(false);
      trigger.current?.focus();
    }
    function onPointer(event: PointerEvent) {
      if (!box.current?.contains(event.target as Node)) setOpen(false);
    }
    document.addEventListener("keydown", onKey);
    document.addEventListener("pointerdown", onPointer);
    return () => {
      document.removeEventListener("keydown", onKey);
      document.removeEventListener("pointerdown", onPointer);
    };
  }, [open]);

  async function leave(everywhere: boolean) {
    setBusy(true);
    setProblem(null);
    try {
      await signOut({ everywhere }); // then the app shows the sign-in page
    } catch (error) {
      setProblem(`Signing out did not work: ${describeError(error).message}. Try again.`);
      setBusy(false);
    }
  }

  return (
    <div className="account" ref={box}>
      <button
        ref={trigger}
        type="button"
        className="account-trigger"
        aria-expanded={open}
        aria-controls={menuId}
        title={`Signed in as ${user.name} (${user.role})`}
        onClick={() => setOpen((was) => !was)}
      >
        {user.display_name || user.name}
      </button>
      <div id={menuId} className="account-menu" hidden={!open}>
        <ul aria-label="Your account">
          <li>
            <NavLink to="/me" onClick={() => setOpen(false)}>
              Your profile and settings
            </NavLink>
          </li>
          <li>
            <button type="button" disabled={busy} onClick={() => void leave(false)}>
              Sign out
            </button>
          </li>
          <li>
            <button type="button" disabled={busy} onClick={() => void leave(true)}>
              Sign out everywhere
            </button>
          </li>
        </ul>
        {problem ? (
          <p role="alert" className="problem">
            {problem}
          </p>
        ) : null}
      </div>
    </div>
  );
}
