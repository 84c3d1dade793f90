// Charts of any measure (the dashboard's own charts name sales figures); built on its frame.
import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, Tooltip, XAxis, YAxis } from "recharts";

import { formatCompact, formatNumber } from "../../format";
import { ChartFrame, heatColor, PALETTE } from "../dashboard/charts";
import type { Point } from "./render";

const AXIS = { fontSize: 12, fill: "#374151" };

export function LineOf({ points, name, label }: { points: Point[]; name: string; label: string }) {
  return (
    <ChartFrame label={label} height={260}>
      <LineChart data={points} margin={{ top: 8, right: 16, bottom: 0, left: 0 }} accessibilityLayer={false}>
        <CartesianGrid strokeDasharray="3 3" stroke="#e5e7eb" />
        <XAxis dataKey="key" tick={AXIS} minTickGap={24} />
        <YAxis tick={AXIS} tickFormatter={formatCompact} width={56} />
        <Tooltip formatter={(value) => formatNumber(Number(value))} />
        <Line
          type="monotone"
          dataKey="value"
          name={name}
          stroke={PALETTE[0]}
          strokeWidth={2}
          dot={false}
          isAnimationActive={false}
        />
      </LineChart>
    </ChartFrame>
  );
}

export function ColumnsOf({ points, name, label }: { points: Point[]; name: string; label: string }) {
  return (
    <ChartFrame label={label} height={240}>
      <BarChart data={points} margin={{ top: 8, right: 16, bottom: 0, left: 0 }} accessibilityLayer={false}>
        <CartesianGrid strokeDasharray="3 3" stroke="#e5e7eb" />
        <XAxis dataKey="key" tick={AXIS} />
        <YAxis tick={AXIS} tickFormatter={formatCompact} width={48} />
        <Tooltip formatter={(value) => formatNumber(Number(value))} />
        <Bar dataKey="value" name={name} fill={PALETTE[2]} isAnimationActive={false} />
      </BarChart>
    </ChartFrame>
  );
}

export function StackedOf({
  rows,
  series,
  label,
}: {
  rows: { key: string; values: number[] }[];
  series: string[];
  label: string;
}) {
  const data = rows.map((r) => ({ key: r.key, ...Object.fromEntries(r.values.map((v, i) => [`m${i}`, v])) }));
  return (
    <ChartFrame label={label} height={280}>
      <BarChart data={data} margin={{ top: 8, right: 16, bottom: 0, left: 24 }} accessibilityLayer={false}>
        <CartesianGrid strokeDasharray="3 3" stroke="#e5e7eb" />
        <XAxis dataKey="key" tick={AXIS} />
        <YAxis tick={AXIS} tickFormatter={formatCompact} width={56} />
        <Tooltip formatter={(value) => formatNumber(Number(value))} />
        <Legend />
        {series.map((name, i) => (
          <Bar
            key={name}
            dataKey={`m${i}`}
            name={name}
            stackId="all"
            fill={PALETTE[(i * 4 + 5) % PALETTE.length]}
            isAnimationActive={false}
          />
        ))}
      </BarChart>
    </ChartFrame>
  );
}

/** Two dimensions as a grid of shaded cells (its figures are in the table under it too). */
export function GridOf({
  rowKeys,
  colKeys,
  cells,
  label,
}: {
  rowKeys: string[];
  colKeys: string[];
  cells: Map<string, number>;
  label: string;
}) {
  const max = Math.max(0, ...cells.values());
  return (
    <div className="heat-grid" role="img" aria-label={label}>
      <table aria-hidden="true">
        <thead>
          <tr>
            <th />
            {colKeys.map((c) => (
              <th key={c}>{c}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rowKeys.map((r) => (
            <tr key={r}>
              <th>{r}</th>
              {colKeys.map((c) => {
                const value = cells.get(`${r}\u0000${c}`) ?? 0;
                return <td key={c} title={formatNumber(value)} style={{ background: heatColor(value, max) }} />;
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
