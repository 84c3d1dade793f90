import type { ReactNode } from "react";

export interface Column<Row> {
  header: string;
  cell: (row: Row) => ReactNode;
  numeric?: boolean;
}

interface Props<Row> {
  caption: string;
  columns: Column<Row>[];
  rows: Row[];
  rowKey: (row: Row, index: number) => string;
  /** Show the caption to everyone (default: to screen readers only). */
  visibleCaption?: boolean;
}

/** A plain table that scrolls sideways on narrow screens instead of overflowing the page. */
export function DataTable<Row>({ caption, columns, rows, rowKey, visibleCaption = false }: Props<Row>) {
  return (
    <div className="table-scroll" role="group" aria-label={caption} tabIndex={0}>
      <table>
        <caption className={visibleCaption ? undefined : "visually-hidden"}>{caption}</caption>
        <thead>
          <tr>
            {columns.map((column) => (
              <th key={column.header} scope="col" className={column.numeric ? "num" : undefined}>
                {column.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row, index) => (
            <tr key={rowKey(row, index)}>
              {columns.map((column) => (
                <td key={column.header} className={column.numeric ? "num" : undefined}>
                  {column.cell(row)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** A chart's figures as a table, folded away under the chart (for keyboards and screen readers). */
export function DataDetails<Row>(props: Props<Row>) {
  return (
    <details className="data-details">
      <summary>Show the figures as a table</summary>
      <DataTable {...props} />
    </details>
  );
}
