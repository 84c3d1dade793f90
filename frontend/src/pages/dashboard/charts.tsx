// Recharts charts of the dashboard. Each chart has its figures as a table under it as well.
import {
  Bar,
  BarChart,
  CartesianGrid,
  Cell,
  Legend,
  Line,
  LineChart,
  Pie,
  PieChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";

import { formatCompact, formatInteger, formatNumber, formatPercent, hourLabel, weekdayName } from "../../format";

export const PALETTE = ["#1d4ed8", "#b45309", "#047857", "#7c3aed", "#be123c", "#0e7490", "#4d7c0f", "#9d174d"];

const AXIS = { fontSize: 12, fill: "#374151" };

interface ChartFrameProps {
  label: string;
  height?: number;
  children: React.ReactElement;
}

/** The chart's box: a labelled image for assistive technology (the table under it has the figures). */
export function ChartFrame({ label, height = 260, children }: ChartFrameProps) {
  return (
    <div className="chart" role="img" aria-label={label} style={{ height }}>
      <ResponsiveContainer width="100%" height="100%" initialDimension={{ width: 320, height }}>
        {children}
      </ResponsiveContainer>
    </div>
  );
}

export interface TrendDatum {
  label: string;
  totalSales: number;
  grossIncome: number;
}

export function TrendChart({ data, label }: { data: TrendDatum[]; label: string }) {
  return (
    <ChartFrame label={label} height={280}>
      <LineChart data={data} margin={{ top: 8, right: 16, bottom: 0, left: 0 }} accessibilityLayer={false}>
        <CartesianGrid strokeDasharray="3 3" stroke="#e5e7eb" />
        <XAxis dataKey="label" tick={AXIS} minTickGap={24} />
        <YAxis tick={AXIS} tickFormatter={formatCompact} width={56} />
        <Tooltip formatter={(value) => formatNumber(Number(value))} />
        <Legend />
        <Line
          type="monotone"
          dataKey="totalSales"
          name="Total sales"
          stroke={PALETTE[0]}
          strokeWidth={2}
          dot={false}
          isAnimationActive={false}
        />
        <Line
          type="monotone"
          dataKey="grossIncome"
          name="Gross income"
          stroke={PALETTE[1]}
          strokeWidth={2}
          dot={false}
          isAnimationActive={false}
        />
      </LineChart>
    </ChartFrame>
  );
}

export interface BarDatum {
  key: string;
  value: number;
}

export function HorizontalBars({ data, label, valueName }: { data: BarDatum[]; label: string; valueName: string }) {
  const height = Math.max(140, data.length * 36 + 40);
  return (
    <ChartFrame label={label} height={height}>
      <BarChart
        data={data}
        layout="vertical"
        margin={{ top: 4, right: 16, bottom: 4, left: 4 }}
        accessibilityLayer={false}
      >
        <CartesianGrid strokeDasharray="3 3" stroke="#e5e7eb" horizontal={false} />
        <XAxis type="number" tick={AXIS} tickFormatter={formatCompact} />
        <YAxis type="category" dataKey="key" tick={AXIS} width={130} />
        <Tooltip formatter={(value) => formatNumber(Number(value))} />
        <Bar dataKey="value" name={valueName} fill={PALETTE[0]} isAnimationActive={false} />
      </BarChart>
    </ChartFrame>
  );
}

export function Donut({ data, label }: { data: BarDatum[]; label: string }) {
  return (
    <ChartFrame label={label} height={240}>
      <PieChart accessibilityLayer={false}>
        <Pie data={data} dataKey="value" nameKey="key" innerRadius="50%" outerRadius="80%" isAnimationActive={false}>
          {data.map((entry, index) => (
            <Cell key={entry.key} fill={PALETTE[index % PALETTE.length]} />
          ))}
        </Pie>
        <Tooltip formatter={(value) => formatNumber(Number(value))} />
        <Legend />
      </PieChart>
    </ChartFrame>
  );
}

export interface ProfitDatum {
  key: string;
  revenue: number;
  cogs: number;
  grossIncome: number;
}

export function ProfitChart({ data, label }: { data: ProfitDatum[]; label: string }) {
  return (
    <ChartFrame label={label} height={280}>
      <BarChart data={data} margin={{ top: 8, right: 16, bottom: 0, left: 24 }} accessibilityLayer={false}>
        <CartesianGrid strokeDasharray="3 3" stroke="#e5e7eb" />
        <XAxis
          dataKey="key"
          tick={AXIS}
          interval={0}
          angle={data.length > 4 ? -20 : 0}
          textAnchor={data.length > 4 ? "end" : "middle"}
          height={data.length > 4 ? 60 : 30}
        />
        <YAxis tick={AXIS} tickFormatter={formatCompact} width={56} />
        <Tooltip formatter={(value) => formatNumber(Number(value))} />
        <Legend />
        <Bar dataKey="cogs" name="Cost of goods" stackId="revenue" fill={PALETTE[5]} isAnimationActive={false} />
        <Bar dataKey="grossIncome" name="Gross income" stackId="revenue" fill={PALETTE[1]} isAnimationActive={false} />
      </BarChart>
    </ChartFrame>
  );
}

export interface RatingDatum {
  label: string;
  count: number;
}

export function RatingChart({ data, label }: { data: RatingDatum[]; label: string }) {
  return (
    <ChartFrame label={label} height={240}>
      <BarChart data={data} margin={{ top: 8, right: 16, bottom: 0, left: 0 }} accessibilityLayer={false}>
        <CartesianGrid strokeDasharray="3 3" stroke="#e5e7eb" />
        <XAxis dataKey="label" tick={AXIS} />
        <YAxis tick={AXIS} allowDecimals={false} width={48} tickFormatter={(v: number) => formatInteger(v)} />
        <Tooltip formatter={(value) => formatInteger(Number(value))} />
        <Bar dataKey="count" name="Transactions" fill={PALETTE[2]} isAnimationActive={false} />
      </BarChart>
    </ChartFrame>
  );
}

export interface HeatCell {
  dayOfWeek: number;
  hour: number;
  totalSales: number;
  transactions: number;
}

const LIGHT = [239, 246, 255];
const DARK = [30, 58, 138];

export function heatColor(value: number, max: number): string {
  const t = max > 0 ? Math.sqrt(value / max) : 0;
  const channel = (i: number) => Math.round((LIGHT[i] ?? 0) + ((DARK[i] ?? 0) - (LIGHT[i] ?? 0)) * t);
  return `rgb(${channel(0)}, ${channel(1)}, ${channel(2)})`;
}

type HeatRow = { hour: number } & Record<string, number>;

const DAYS = [1, 2, 3, 4, 5, 6, 7];

/** Day of week x hour: 24 columns of 7 stacked unit bars, each coloured by its sales. */
export function Heatmap({ cells, label }: { cells: HeatCell[]; label: string }) {
  const max = Math.max(0, ...cells.map((c) => c.totalSales));
  const byKey = new Map(cells.map((c) => [`${c.dayOfWeek}:${c.hour}`, c]));
  const rows: HeatRow[] = Array.from({ length: 24 }, (_, hour) => {
    const row: HeatRow = { hour } as HeatRow;
    for (const day of DAYS) {
      row[`d${day}`] = 1;
      row[`s${day}`] = byKey.get(`${day}:${hour}`)?.totalSales ?? 0;
    }
    return row;
  });
  return (
    <ChartFrame label={label} height={260}>
      <BarChart
        data={rows}
        barCategoryGap={1}
        margin={{ top: 4, right: 8, bottom: 0, left: 0 }}
        accessibilityLayer={false}
      >
        <XAxis dataKey="hour" tick={AXIS} tickFormatter={(h: number) => hourLabel(h)} interval={2} />
        <YAxis
          type="number"
          domain={[0, 7]}
          ticks={[0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5]}
          tickFormatter={(v: number) => weekdayName(Math.floor(v) + 1)}
          reversed
          tick={AXIS}
          width={44}
          axisLine={false}
          tickLine={false}
        />
        <Tooltip
          cursor={false}
          content={({ active, payload }) => {
            const row = payload?.[0]?.payload as HeatRow | undefined;
            if (!active || !row) return null;
            return (
              <div className="chart-tooltip">
                <strong>{hourLabel(row.hour)}</strong>
                <ul>
                  {DAYS.map((day) => (
                    <li key={day}>
                      {weekdayName(day)}: {formatNumber(row[`s${day}`] ?? 0)}
                    </li>
                  ))}
                </ul>
              </div>
            );
          }}
        />
        {DAYS.map((day) => (
          <Bar key={day} dataKey={`d${day}`} stackId="days" isAnimationActive={false} name={weekdayName(day)}>
            {rows.map((row) => (
              <Cell key={row.hour} fill={heatColor(row[`s${day}`] ?? 0, max)} stroke="#fff" strokeWidth={1} />
            ))}
          </Bar>
        ))}
      </BarChart>
    </ChartFrame>
  );
}

export function HeatLegend({ max }: { max: number }) {
  return (
    <p className="heat-legend">
      <span>0</span>
      <span
        className="heat-scale"
        aria-hidden="true"
        style={{ background: `linear-gradient(to right, ${heatColor(0, 1)}, ${heatColor(1, 1)})` }}
      />
      <span>{formatNumber(max)}</span>
      <span className="visually-hidden">Darker cells had more sales; the table below has every figure.</span>
    </p>
  );
}

export function shareLabel(share: number | null | undefined): string {
  return formatPercent(share ?? null);
}
