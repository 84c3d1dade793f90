// The charts of the page for any datasource: rows per period, and one bar per value.
import type { ReactElement } from "react";
import { Bar, BarChart, CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";

import { formatCompact, formatNumber } from "../../../format";

const AXIS = { fontSize: 12, fill: "#374151" };
const BLUE = "#1d4ed8";

function Frame({ label, height, children }: { label: string; height: number; children: ReactElement }) {
  return (
    <div className="chart" role="img" aria-label={label} style={{ height }}>
      <ResponsiveContainer width="100%" height="100%" initialDimension={{ width: 320, height }}>
        {children}
      </ResponsiveContainer>
    </div>
  );
}

export interface Point {
  label: string;
  value: number;
}

export function LineOverTime({ data, label, valueName }: { data: Point[]; label: string; valueName: string }) {
  return (
    <Frame label={label} height={260}>
      <LineChart data={data} margin={{ top: 8, right: 16, bottom: 0, left: 0 }} accessibilityLayer={false}>
        <CartesianGrid strokeDasharray="3 3" stroke="#e5e7eb" />
        <XAxis dataKey="label" tick={AXIS} minTickGap={24} />
        <YAxis tick={AXIS} tickFormatter={formatCompact} width={56} />
        <Tooltip formatter={(value) => formatNumber(Number(value))} />
        <Line
          type="linear"
          dataKey="value"
          name={valueName}
          stroke={BLUE}
          strokeWidth={2}
          dot={data.length < 40}
          isAnimationActive={false}
        />
      </LineChart>
    </Frame>
  );
}

export function Bars({ data, label, valueName }: { data: Point[]; label: string; valueName: string }) {
  return (
    <Frame label={label} height={Math.max(140, data.length * 30 + 40)}>
      <BarChart
        data={data}
        layout="vertical"
        margin={{ top: 4, right: 16, bottom: 4, left: 4 }}
        accessibilityLayer={false}
      >
        <CartesianGrid strokeDasharray="3 3" stroke="#e5e7eb" horizontal={false} />
        <XAxis type="number" tick={AXIS} tickFormatter={formatCompact} />
        <YAxis type="category" dataKey="label" tick={AXIS} width={120} />
        <Tooltip formatter={(value) => formatNumber(Number(value))} />
        <Bar dataKey="value" name={valueName} fill={BLUE} isAnimationActive={false} />
      </BarChart>
    </Frame>
  );
}
