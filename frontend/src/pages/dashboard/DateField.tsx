import { useState, type KeyboardEvent } from "react";

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
export const FIRST_YEAR = 1900;
export const LAST_YEAR = 2100;

/** A whole day whose year is one a sales date may have: while a year is typed digit by digit the
 * field holds 0002, 0020, 0201 before 2019, and none of those is a date anyone means. */
export function plausibleDay(value: string): boolean {
  const match = DAY.exec(value);
  if (!match) return false;
  const year = Number(match[1]);
  return year >= FIRST_YEAR && year <= LAST_YEAR && !Number.isNaN(Date.parse(value));
}

interface Props {
  id: string;
  label: string;
  value: string | null;
  min?: string | null;
  max?: string | null;
  onCommit: (value: string | null) => void;
}

/**
 * A date filter that changes the view once per date: a typed date counts when it is whole and
 * plausible (as it is completed, or on Enter or leaving the field), a picked one at once; what is
 * typed in between stays in the field and never reaches the URL or its history.
 */
export function DateField({ id, label, value, min, max, onCommit }: Props) {
  const [draft, setDraft] = useState(value ?? "");
  const [shown, setShown] = useState(value);
  const [problem, setProblem] = useState<string | null>(null);
  // Chromium focuses a date input's inner part, so the field never matches :focus: its ring is drawn
  // from this state instead.
  const [focused, setFocused] = useState(false);
  if (shown !== value) {
    // The URL changed elsewhere (Back, Clear filters): show it.
    setShown(value);
    setDraft(value ?? "");
  }

  const commit = (text: string, unfinished: boolean) => {
    if (text === "" && !unfinished) {
      setProblem(null);
      if (value !== null) onCommit(null);
    } else if (plausibleDay(text)) {
      setProblem(null);
      if (text !== value) onCommit(text);
    } else {
      setProblem(`Type a whole date between ${FIRST_YEAR} and ${LAST_YEAR}, such as 2019-01-05, or pick one.`);
      setDraft(value ?? "");
    }
  };
  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key === "Enter") commit(event.currentTarget.value, event.currentTarget.validity.badInput);
  };

  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type="date"
        className={focused ? "date-input focused" : "date-input"}
        value={draft}
        min={min ?? undefined}
        max={max ?? undefined}
        aria-invalid={problem ? true : undefined}
        aria-describedby={problem ? `${id}-problem` : undefined}
        onChange={(event) => {
          const text = event.target.value;
          setDraft(text);
          if (plausibleDay(text) && text !== value) {
            setProblem(null);
            onCommit(text);
          }
        }}
        onFocus={() => setFocused(true)}
        onBlur={(event) => {
          setFocused(false);
          commit(event.target.value, event.target.validity.badInput);
        }}
        onKeyDown={onKeyDown}
      />
      {problem ? (
        <p id={`${id}-problem`} className="hint" role="status">
          {problem}
        </p>
      ) : null}
    </div>
  );
}
