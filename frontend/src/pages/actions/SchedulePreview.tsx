import { useEffect, useMemo, useState } from "react";
import { useQuery } from "urql";

import { formatDateTimeIn } from "../../format";
import { DescribeScheduleQuery } from "./queries";

/** `value`, once it has not changed for `ms` milliseconds. */
export function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = window.setTimeout(() => setSettled(value), ms);
    return () => window.clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

export interface ScheduleCheck {
  /** null while the server has not answered for what is typed */
  valid: boolean | null;
  error: string | null;
}

interface Props {
  id: string;
  cron: string;
  timezone: string;
  /** Told whether the typed schedule is valid (with the server's sentence when not). */
  onChecked?: (check: ScheduleCheck) => void;
}

/** The schedule in words with its next five times, as the server reads it, 300 ms after the
 * last key press, each time in the schedule's own zone; an expression it cannot read leaves the
 * sentence to the field (shown once). */
export function SchedulePreview({ id, cron, timezone, onChecked }: Props) {
  const wanted = { cron: cron.trim(), timezone: timezone.trim() || "UTC" };
  const key = JSON.stringify(wanted);
  const settledKey = useDebounced(key, 300);
  const settled = useMemo(() => JSON.parse(settledKey) as typeof wanted, [settledKey]);
  const current = settledKey === key;
  const [result] = useQuery({ query: DescribeScheduleQuery, variables: settled, pause: !settled.cron });
  const described = current && settled.cron && !result.fetching ? result.data?.describeSchedule : undefined;
  const valid = described ? described.valid : null;
  const error = described && !described.valid ? (described.error ?? "This schedule cannot be read.") : null;
  useEffect(() => {
    onChecked?.({ valid, error });
  }, [valid, error, onChecked]);
  if (!wanted.cron) return null;
  if (!described) {
    return (
      <p id={id} className="hint schedule-words" aria-live="polite">
        Reading the schedule…
      </p>
    );
  }
  if (!described.valid) {
    // The field says what is wrong (its problem): the sentence is shown once, there.
    return <span id={id} data-schedule="invalid" hidden />;
  }
  return (
    <div id={id} className="schedule-preview" data-schedule="valid" aria-live="polite">
      <p className="schedule-words">{described.words}</p>
      <p className="hint">The next five times:</p>
      <ol className="schedule-times">
        {described.nextTimes.map((t) => (
          <li key={t}>
            <time dateTime={t}>{formatDateTimeIn(t, settled.timezone)}</time>
          </li>
        ))}
      </ol>
    </div>
  );
}
