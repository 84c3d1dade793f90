import { describeError } from "../../api/errors";
import { Modal } from "./Modal";

interface Props {
  /** The error the save answered (a 409, or GraphQL's CONFLICT). */
  error: unknown;
  busy?: boolean;
  onReload: () => void;
  onSaveCopy: () => void;
  onClose: () => void;
}

/** Whether a save failed because someone saved the workbook since it was loaded. */
export function isConflict(error: unknown): boolean {
  const problem = describeError(error);
  return problem.code === "CONFLICT" || problem.status === 409;
}

export function ConflictDialog({ error, busy, onReload, onSaveCopy, onClose }: Props) {
  const problem = describeError(error);
  return (
    <Modal title="Someone else saved this workbook" open alert onClose={onClose}>
      <p>Someone else saved this workbook after you opened it, so your changes were not saved.</p>
      <p className="conflict-what">What changed: {problem.message}.</p>
      {problem.detail ? <p className="problem-detail">{problem.detail}</p> : null}
      <div className="dialog-actions">
        <button type="button" className="primary" onClick={onReload} disabled={busy}>
          Reload their version
        </button>
        <button type="button" onClick={onSaveCopy} disabled={busy}>
          Save as a copy
        </button>
        <button type="button" onClick={onClose}>
          Cancel
        </button>
      </div>
    </Modal>
  );
}
