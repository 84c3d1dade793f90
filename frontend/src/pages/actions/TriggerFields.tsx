import { useCallback } from "react";

import { EVENT_LABELS, EVENTS, MAX_TRIGGERS, newTrigger, type TriggerDraft } from "./draft";
import { Field } from "./Field";
import { SchedulePreview, type ScheduleCheck } from "./SchedulePreview";

interface RowProps {
  index: number;
  trigger: TriggerDraft;
  set: (index: number, patch: Partial<TriggerDraft>) => void;
  remove: (index: number) => void;
  problem: (key: string) => string | null;
  idOf: (key: string) => string;
  onChecked: (index: number, check: ScheduleCheck) => void;
}

function TriggerRow({ index, trigger, set, remove, problem, idOf, onChecked }: RowProps) {
  const key = (name: string) => `trigger.${index}.${name}`;
  const checked = useCallback((check: ScheduleCheck) => onChecked(index, check), [index, onChecked]);
  const n = index + 1;
  return (
    <li className="trigger-row">
      <fieldset>
        <legend>Trigger {n}</legend>
        <Field id={idOf(key("type"))} label="When">
          {(a11y) => (
            <select
              {...a11y}
              value={trigger.type}
              onChange={(e) => set(index, { ...newTrigger(e.target.value as TriggerDraft["type"]) })}
            >
              <option value="manual">By hand (Run now)</option>
              <option value="schedule">On a schedule</option>
              <option value="event">On an event</option>
            </select>
          )}
        </Field>
        {trigger.type === "schedule" ? (
          <>
            <Field
              id={idOf(key("cron"))}
              label="Cron expression"
              problem={problem(key("cron"))}
              hint="Minute, hour, day of month, month, day of week: 0 8 * * 1-5 is 08:00 on weekdays."
              afterId={idOf(key("words"))}
              after={
                <SchedulePreview
                  id={idOf(key("words"))}
                  cron={trigger.cron}
                  timezone={trigger.timezone}
                  onChecked={checked}
                />
              }
            >
              {(a11y) => (
                <input
                  {...a11y}
                  autoComplete="off"
                  spellCheck={false}
                  value={trigger.cron}
                  onChange={(e) => set(index, { cron: e.target.value })}
                />
              )}
            </Field>
            <Field id={idOf(key("timezone"))} label="Time zone" problem={problem(key("timezone"))}>
              {(a11y) => (
                <input
                  {...a11y}
                  autoComplete="off"
                  list={idOf("zones")}
                  value={trigger.timezone}
                  onChange={(e) => set(index, { timezone: e.target.value })}
                />
              )}
            </Field>
          </>
        ) : null}
        {trigger.type === "event" ? (
          <>
            <Field id={idOf(key("event"))} label="Event">
              {(a11y) => (
                <select {...a11y} value={trigger.event} onChange={(e) => set(index, { event: e.target.value })}>
                  {EVENTS.map((event) => (
                    <option key={event} value={event}>
                      When {EVENT_LABELS[event]}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <Field
              id={idOf(key("datasource"))}
              label="Only for datasource (optional)"
              problem={problem(key("datasource"))}
            >
              {(a11y) => (
                <input
                  {...a11y}
                  autoComplete="off"
                  value={trigger.datasource}
                  onChange={(e) => set(index, { datasource: e.target.value })}
                />
              )}
            </Field>
          </>
        ) : null}
        <button type="button" className="link-button" onClick={() => remove(index)}>
          Remove trigger {n}
        </button>
      </fieldset>
    </li>
  );
}

interface Props {
  triggers: TriggerDraft[];
  onChange: (triggers: TriggerDraft[]) => void;
  problem: (key: string) => string | null;
  idOf: (key: string) => string;
  onChecked: (index: number, check: ScheduleCheck) => void;
}

/** The action's triggers: by hand, schedules (read back in words as you type) and events. */
export function TriggerFields({ triggers, onChange, problem, idOf, onChecked }: Props) {
  const set = (index: number, patch: Partial<TriggerDraft>) =>
    onChange(triggers.map((t, i) => (i === index ? { ...t, ...patch } : t)));
  const remove = (index: number) => onChange(triggers.filter((_, i) => i !== index));
  return (
    <fieldset className="triggers">
      <legend>Triggers</legend>
      <ol className="trigger-list">
        {triggers.map((trigger, index) => (
          <TriggerRow
            // The position is the trigger's identity in the form (they have no id until saved).
            key={index}
            index={index}
            trigger={trigger}
            set={set}
            remove={remove}
            problem={problem}
            idOf={idOf}
            onChecked={onChecked}
          />
        ))}
      </ol>
      {problem("triggers") ? <p className="field-problem">{problem("triggers")}</p> : null}
      <button
        type="button"
        disabled={triggers.length >= MAX_TRIGGERS}
        onClick={() => onChange([...triggers, newTrigger("schedule")])}
      >
        Add a trigger
      </button>
    </fieldset>
  );
}
