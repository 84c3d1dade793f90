import { useEffect, useId, useRef, useState, type FormEvent } from "react";

import { dismissSignIn, signIn } from "../api/auth";
import { useAuth } from "../hooks/useAuth";

/** Asks for an API token whenever the server answered 401 (token mode, or a service without
 * sign-in sessions), or when the sign-in page's "Use an API token instead" was chosen; the token
 * is kept for this browser session. */
export function SignIn() {
  const { signInReason, token, status } = useAuth();
  const dialog = useRef<HTMLDialogElement>(null);
  const [value, setValue] = useState("");
  const inputId = useId();
  const hintId = useId();
  const open = signInReason !== null;

  useEffect(() => {
    const element = dialog.current;
    if (!element) return;
    if (open && !element.open) {
      if (typeof element.showModal === "function") element.showModal();
      else element.setAttribute("open", "");
    } else if (!open && element.open) {
      if (typeof element.close === "function") element.close();
      else element.removeAttribute("open");
    }
  }, [open]);

  function submit(event: FormEvent) {
    event.preventDefault();
    if (value.trim()) {
      signIn(value);
      setValue("");
    }
  }

  return (
    <dialog ref={dialog} className="sign-in" aria-labelledby={`${inputId}-title`} onCancel={() => dismissSignIn()}>
      <form onSubmit={submit}>
        <h2 id={`${inputId}-title`}>Sign in</h2>
        <p id={hintId}>
          {status === "signed-out" ? (
            "Sign in with an API token instead of a name and password."
          ) : (
            <>
              {token ? "The server refused the token of this session" : "The server asks for an API token"}
              {signInReason ? `: ${signInReason}` : "."}
            </>
          )}{" "}
          An administrator creates one with{" "}
          <code>python -m backend tokens create --name NAME --role viewer|uploader|admin</code>. It is kept in this
          browser tab only, until you close it.
        </p>
        <label htmlFor={inputId}>API token</label>
        <input
          id={inputId}
          type="password"
          autoComplete="off"
          spellCheck={false}
          aria-describedby={hintId}
          value={value}
          onChange={(event) => setValue(event.target.value)}
          required
        />
        <div className="dialog-actions">
          <button type="submit" className="primary">
            Sign in
          </button>
          <button type="button" onClick={() => dismissSignIn()}>
            Not now
          </button>
        </div>
      </form>
    </dialog>
  );
}
