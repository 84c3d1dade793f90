import { requireSignIn } from "../api/auth";
import { describeError, isForbidden, isUnauthorized } from "../api/errors";

interface Props {
  error: unknown;
  /** What could not be done: "Sales by branch could not be loaded". */
  what?: string;
  onRetry?: () => void;
}

export function ErrorMessage({ error, what, onRetry }: Props) {
  const problem = describeError(error);
  if (isUnauthorized(problem)) {
    return (
      <div className="problem" role="alert">
        <p className="problem-title">Sign-in needed</p>
        <p>{problem.message}</p>
        <button type="button" onClick={() => requireSignIn(problem.message)}>
          Sign in
        </button>
      </div>
    );
  }
  if (isForbidden(problem)) {
    return (
      <div className="problem" role="alert">
        <p className="problem-title">Your token's role cannot do this</p>
        <p>{problem.message}</p>
        {problem.detail ? <p className="problem-detail">{problem.detail}</p> : null}
      </div>
    );
  }
  return (
    <div className="problem" role="alert">
      <p className="problem-title">{what ?? "Something went wrong"}</p>
      <p>{problem.message}</p>
      {problem.detail ? <p className="problem-detail">{problem.detail}</p> : null}
      {onRetry ? (
        <button type="button" onClick={onRetry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}
