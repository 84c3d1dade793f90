import type { ReactNode } from "react";

export interface FieldProps {
  /** The input's id: its label, hint and problem hang on it. */
  id: string;
  label: string;
  problem?: string | null | undefined;
  hint?: ReactNode;
  /** Content after the hint (a schedule's words): its id is in aria-describedby too. */
  after?: ReactNode;
  afterId?: string;
  children: (a11y: { id: string; "aria-invalid": boolean; "aria-describedby": string | undefined }) => ReactNode;
}

/** A label, its input, a hint and the sentence saying what is wrong (tied to the input). */
export function Field({ id, label, problem, hint, after, afterId, children }: FieldProps) {
  const described = [hint ? `${id}-hint` : null, problem ? `${id}-problem` : null, after ? afterId : null]
    .filter(Boolean)
    .join(" ");
  return (
    <div className="field action-field">
      <label htmlFor={id}>{label}</label>
      {children({ id, "aria-invalid": Boolean(problem), "aria-describedby": described || undefined })}
      {hint ? (
        <span id={`${id}-hint`} className="hint">
          {hint}
        </span>
      ) : null}
      {problem ? (
        <p id={`${id}-problem`} className="field-problem">
          {problem}
        </p>
      ) : null}
      {after}
    </div>
  );
}
