import { useId, useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";

import { describeError, type Problem } from "../../api/errors";
import { Widget } from "../../components/Widget";
import type { MySettingsQuery as MySettings } from "../../gql/graphql";
import { useDocumentTitle } from "../../hooks/useDocumentTitle";
import { useWidgetQuery } from "../../hooks/useWidgetQuery";
import { PasswordForm } from "./PasswordForm";
import { MySettingsQuery, MyWorkbooksQuery, UpdateMeMutation } from "./queries";

function timeZones(): string[] {
  try {
    return Intl.supportedValuesOf("timeZone");
  } catch {
    return ["UTC"];
  }
}

type Me = MySettings["me"];

function SettingsForm({ me, datasources }: { me: Me; datasources: string[] }) {
  const id = useId();
  const [displayName, setDisplayName] = useState(me.displayName);
  const [timeZone, setTimeZone] = useState(me.timeZone);
  const [email, setEmail] = useState(me.email ?? "");
  const [datasource, setDatasource] = useState(me.defaultDatasource ?? "");
  const [dashboard, setDashboard] = useState(me.defaultDashboard ?? "");
  const [problem, setProblem] = useState<Problem | null>(null);
  const [saved, setSaved] = useState(false);
  const [mine] = useQuery({ query: MyWorkbooksQuery, variables: { author: me.name } });
  const [update, run] = useMutation(UpdateMeMutation);
  const workbooks = mine.data?.workbooks.items ?? [];
  const datasourceNames = [...new Set([...datasources, ...(datasource ? [datasource] : [])])].sort();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSaved(false);
    const input = {
      displayName: displayName.trim(),
      timeZone: timeZone.trim(),
      email: email.trim() || null,
      defaultDatasource: datasource || null,
      defaultDashboard: dashboard || null,
    };
    const result = await run({ input });
    setProblem(result.error ? describeError(result.error) : null);
    setSaved(!result.error);
  };
  return (
    <form className="settings-form" aria-label="Your settings" onSubmit={(e) => void submit(e)}>
      <p className="muted">
        You are signed in as @{me.name}
        {me.role ? `, with the ${me.role} role` : ""}.
      </p>
      <div className="field">
        <label htmlFor={`${id}-name`}>Display name</label>
        <input id={`${id}-name`} value={displayName} required onChange={(e) => setDisplayName(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor={`${id}-tz`}>Time zone</label>
        <input
          id={`${id}-tz`}
          list={`${id}-zones`}
          value={timeZone}
          aria-describedby={`${id}-tz-hint`}
          onChange={(e) => setTimeZone(e.target.value)}
        />
        <datalist id={`${id}-zones`}>
          {timeZones().map((zone) => (
            <option key={zone} value={zone} />
          ))}
        </datalist>
        <span id={`${id}-tz-hint`} className="hint">
          An IANA name such as Europe/Paris or UTC.
        </span>
      </div>
      <div className="field">
        <label htmlFor={`${id}-email`}>E-mail</label>
        <input
          id={`${id}-email`}
          type="email"
          autoComplete="email"
          value={email}
          aria-describedby={`${id}-email-hint`}
          onChange={(e) => setEmail(e.target.value)}
        />
        <span id={`${id}-email-hint`} className="hint">
          Where reports you set up on the Actions page are e-mailed to you. Empty: none.
        </span>
      </div>
      <div className="field">
        <label htmlFor={`${id}-ds`}>Default datasource</label>
        <select id={`${id}-ds`} value={datasource} onChange={(e) => setDatasource(e.target.value)}>
          <option value="">None</option>
          {datasourceNames.map((name) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor={`${id}-db`}>Default dashboard</label>
        <select id={`${id}-db`} value={dashboard} onChange={(e) => setDashboard(e.target.value)}>
          <option value="">The built-in sales dashboard</option>
          {dashboard && !workbooks.some((w) => w.id === dashboard) ? (
            <option value={dashboard}>The workbook you chose before</option>
          ) : null}
          {workbooks.map((workbook) => (
            <option key={workbook.id} value={workbook.id}>
              {workbook.title}
            </option>
          ))}
        </select>
      </div>
      {problem ? (
        <div className="problem" role="alert">
          <p>{problem.message}</p>
          {problem.detail ? <p className="problem-detail">{problem.detail}</p> : null}
        </div>
      ) : null}
      <p role="status">{saved ? "Your settings are saved." : null}</p>
      <button type="submit" className="primary" disabled={update.fetching}>
        Save settings
      </button>
    </form>
  );
}

/** Your own profile: settings saved with updateMe, and the password. */
export default function MePage() {
  useDocumentTitle("Your profile");
  const q = useWidgetQuery(MySettingsQuery, {});
  const me = q.data?.me;
  return (
    <>
      <h1>Your profile</h1>
      <Widget title="Your settings" fetching={q.fetching} error={q.error} hasData={q.hasData} onRetry={q.refetch}>
        {me ? (
          <SettingsForm key={me.name} me={me} datasources={(q.data?.datasources ?? []).map((d) => d.name)} />
        ) : null}
      </Widget>
      <PasswordForm />
    </>
  );
}
