import { useState } from "react";
import { useMutation } from "urql";

import { describeError } from "../../api/errors";
import { FavoriteWorkbookMutation } from "./queries";

interface Props {
  id: string;
  title: string;
  favorited: boolean;
}

/**
 * The star: it turns at once (optimistic) and turns back, with the server's reason, when the
 * change is refused. The shown state follows the server's again once its answer agrees.
 */
export function FavoriteButton({ id, title, favorited }: Props) {
  const [, favorite] = useMutation(FavoriteWorkbookMutation);
  const [wanted, setWanted] = useState<boolean | null>(null);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  if (wanted !== null && wanted === favorited && !busy) setWanted(null);
  const pressed = wanted ?? favorited;
  const toggle = async () => {
    const next = !pressed;
    setWanted(next);
    setProblem(null);
    setBusy(true);
    const result = await favorite({ id, favorite: next });
    setBusy(false);
    if (result.error) {
      setWanted(null);
      setProblem(`The favorite could not be saved: ${describeError(result.error).message}`);
    }
  };
  return (
    <span className="favorite">
      <button
        type="button"
        className="star"
        aria-pressed={pressed}
        aria-label={`Favorite ${title}`}
        title={pressed ? "Remove from your favorites" : "Add to your favorites"}
        onClick={() => void toggle()}
      >
        <span aria-hidden="true">{pressed ? "★" : "☆"}</span>
      </button>
      {problem ? (
        <span role="alert" className="favorite-problem">
          {problem}
        </span>
      ) : null}
    </span>
  );
}
