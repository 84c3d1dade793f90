import { DatasourcePicker } from "./DatasourcePicker";

/** The dashboard of a datasource that does not exist (or that the reader may not open). */
export function MissingDatasource({
  name,
  names,
  onDatasource,
}: {
  name: string;
  names: string[];
  onDatasource: (name: string) => void;
}) {
  return (
    <>
      <div className="page-title">
        <h1>Dashboard</h1>
      </div>
      <DatasourcePicker value={name} names={names} onChange={onDatasource} />
      <p role="status" className="widget-empty" data-missing-datasource={name}>
        There is no datasource named “{name}” that you can open.
        {names.length > 0 ? " Choose one of yours above." : " Upload a file to create one."}
      </p>
    </>
  );
}
