// A table for the Status and Performance pages: it fits its box (long text wraps instead of
// widening the table) and, on narrow screens, each row becomes a card whose cells are labelled
// by their column (styles.css, "status helper" section). Headers stay in the table for screen
// readers; each cell's label comes from its column's header.
import type { ReactNode } from "react";

import type { Column } from "../../components/DataTable";

interface Props<Row> {
  caption: string;
  columns: Column<Row>[];
  rows: Row[];
  rowKey: (row: Row, index: number) => string;
  /** Show the caption to everyone (default: to screen readers only). */
  visibleCaption?: boolean;
}

export function StackedTable<Row>({ caption, columns, rows, rowKey, visibleCaption = false }: Props<Row>) {
  return (
    <table className="stacked-table">
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
              <td key={column.header} data-label={column.header} className={column.numeric ? "num" : undefined}>
                {column.cell(row) as ReactNode}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
