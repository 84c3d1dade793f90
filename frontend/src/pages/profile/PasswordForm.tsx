import { useId, useState, type FormEvent } from "react";

import { describeError, type Problem } from "../../api/errors";
import { changePassword } from "./password";

/** Change your password; the server says what is wrong with the new one, and that is shown. */
export function PasswordForm() {
  const id = useId();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [again, setAgain] = useState("");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [done, setDone] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setDone(false);
    if (next !== again) {
      setProblem({ message: "The two new passwords are not the same. Type the new password twice." });
      return;
    }
    setBusy(true);
    setProblem(null);
    try {
      await changePassword(current, next);
      setDone(true);
      setCurrent("");
      setNext("");
      setAgain("");
    } catch (error) {
      setProblem(describeError(error));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="widget settings-form" aria-labelledby={`${id}-title`} onSubmit={(e) => void submit(e)}>
      <h2 id={`${id}-title`}>Change password</h2>
      <div className="field">
        <label htmlFor={`${id}-current`}>Current password</label>
        <input
          id={`${id}-current`}
          type="password"
          autoComplete="current-password"
          value={current}
          onChange={(e) => setCurrent(e.target.value)}
        />
      </div>
      <div className="field">
        <label htmlFor={`${id}-new`}>New password</label>
        <input
          id={`${id}-new`}
          type="password"
          autoComplete="new-password"
          required
          aria-describedby={`${id}-hint`}
          value={next}
          onChange={(e) => setNext(e.target.value)}
        />
        <span id={`${id}-hint`} className="hint">
          From 10 to 200 characters.
        </span>
      </div>
      <div className="field">
        <label htmlFor={`${id}-again`}>New password again</label>
        <input
          id={`${id}-again`}
          type="password"
          autoComplete="new-password"
          required
          value={again}
          onChange={(e) => setAgain(e.target.value)}
        />
      </div>
      {problem ? (
        <div className="problem" role="alert">
          <p>{problem.message}</p>
          {problem.detail ? <p className="problem-detail">{problem.detail}</p> : null}
        </div>
      ) : null}
      <p role="status">{done ? "Your password is changed." : null}</p>
      <button type="submit" className="primary" disabled={busy}>
        Change password
      </button>
    </form>
  );
}
