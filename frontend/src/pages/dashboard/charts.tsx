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

import { formatCompact, formatInteger, formatMoney, formatPercent, hourLabel, weekdayName } from "../../format";
import { colourFor, PALETTE } from "./colours";
import "./charts.css";

export { PALETTE } from "./colours";

const AXIS = { fontSize: 12, fill: "#374151" };
const SALES_COLOUR = PALETTE[0] ?? "#1d4ed8";
const INCOME_COLOUR = PALETTE[1] ?? "#b45309";

/** A category axis wide enough for its longest label (up to a third of a phone's width): a
 * label is never cut ("ctronic accessories"); a longer one wraps onto two lines. */
export function categoryAxisWidth(labels: string[]): number {
  const longest = Math.max(0, ...labels.map((l) => l.length));
  return Math.min(150, Math.max(40, Math.round(longest * 6.6) + 12));
}

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
  /** The selection covers only part of this period. */
  partial: boolean;
}

type TrendRow = TrendDatum & {
  sales?: number;
  income?: number;
  salesPartial?: number;
  incomePartial?: number;
};

/** Whole periods on solid lines; a partial first or last period on a dashed piece of its own
 * (joined to its neighbour), so it does not read as a fall or a rise. */
function trendRows(data: TrendDatum[]): TrendRow[] {
  return data.map((d, i) => {
    const nearPartial = d.partial || data[i - 1]?.partial === true || data[i + 1]?.partial === true;
    return {
      ...d,
      sales: d.partial ? undefined : d.totalSales,
      income: d.partial ? undefined : d.grossIncome,
      salesPartial: nearPartial ? d.totalSales : undefined,
      incomePartial: nearPartial ? d.grossIncome : undefined,
    };
  });
}

function TrendTooltip({ active, payload }: { active?: boolean; payload?: { payload?: TrendRow }[] }) {
  const row = payload?.[0]?.payload;
  if (!active || !row) return null;
  return (
    <div className="chart-tooltip">
      <strong>{row.label}</strong>
      {row.partial ? <p className="partial-note">Partial period: the selection covers only part of it.</p> : null}
      <ul>
        <li>Total sales: {formatMoney(row.totalSales)}</li>
        <li>Gross income: {formatMoney(row.grossIncome)}</li>
      </ul>
    </div>
  );
}

/** Total sales (left axis) and gross income (right axis, its own scale: it is a few percent of
 * sales and would lie flat on the sales scale). */
export function TrendChart({ data, label }: { data: TrendDatum[]; label: string }) {
  const rows = trendRows(data);
  const line = { type: "monotone" as const, strokeWidth: 2, dot: false, isAnimationActive: false, connectNulls: false };
  return (
    <ChartFrame label={label} height={280}>
      <LineChart data={rows} margin={{ top: 8, right: 8, bottom: 0, left: 0 }} accessibilityLayer={false}>
        <CartesianGrid strokeDasharray="3 3" stroke="#e5e7eb" />
        <XAxis dataKey="label" tick={AXIS} minTickGap={24} />
        <YAxis yAxisId="sales" tick={AXIS} tickFormatter={formatCompact} width={52} stroke={SALES_COLOUR} />
        <YAxis
          yAxisId="income"
          orientation="right"
          tick={AXIS}
          tickFormatter={formatCompact}
          width={48}
          stroke={INCOME_COLOUR}
        />
        <Tooltip content={<TrendTooltip />} />
        <Legend />
        <Line {...line} yAxisId="sales" dataKey="sales" name="Total sales (left axis)" stroke={SALES_COLOUR} />
        <Line {...line} yAxisId="income" dataKey="income" name="Gross income (right axis)" stroke={INCOME_COLOUR} />
        <Line
          {...line}
          yAxisId="sales"
          dataKey="salesPartial"
          name="Partial period (dashed)"
          legendType={data.some((d) => d.partial) ? "plainline" : "none"}
          stroke={SALES_COLOUR}
          strokeDasharray="5 4"
        />
        <Line
          {...line}
          yAxisId="income"
          dataKey="incomePartial"
          legendType="none"
          stroke={INCOME_COLOUR}
          strokeDasharray="5 4"
        />
      </LineChart>
    </ChartFrame>
  );
}

export interface BarDatum {
  key: string;
  value: number;
}

interface CategoryChartProps {
  data: BarDatum[];
  label: string;
  /** Colours by category ("branch", "gender"...): a value keeps its colour under any filter. */
  dimension?: string;
  /** A click on a bar or slice (drill-through). */
  onSelect?: (key: string) => void;
}

export function HorizontalBars({
  data,
  label,
  valueName,
  dimension,
  onSelect,
}: CategoryChartProps & { valueName: string }) {
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
        <YAxis type="category" dataKey="key" tick={AXIS} width={categoryAxisWidth(data.map((d) => d.key))} />
        <Tooltip formatter={(value) => formatMoney(Number(value))} />
        <Bar
          dataKey="value"
          name={valueName}
          fill={SALES_COLOUR}
          isAnimationActive={false}
          cursor={onSelect ? "pointer" : undefined}
          onClick={onSelect ? (_, index) => onSelect(data[index]?.key ?? "") : undefined}
        >
          {dimension ? data.map((d) => <Cell key={d.key} fill={colourFor(dimension, d.key)} />) : null}
        </Bar>
      </BarChart>
    </ChartFrame>
  );
}

export function Donut({ data, label, dimension = "", onSelect }: CategoryChartProps) {
  return (
    <ChartFrame label={label} height={240}>
      <PieChart accessibilityLayer={false}>
        <Pie
          data={data}
          dataKey="value"
          nameKey="key"
          innerRadius="50%"
          outerRadius="80%"
          isAnimationActive={false}
          cursor={onSelect ? "pointer" : undefined}
          onClick={onSelect ? (_, index) => onSelect(data[index]?.key ?? "") : undefined}
        >
          {data.map((entry) => (
            <Cell key={entry.key} fill={colourFor(dimension, entry.key)} data-key={entry.key} />
          ))}
        </Pie>
        <Tooltip formatter={(value) => formatMoney(Number(value))} />
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

/** Revenue (bottom axis) and gross income (top axis, on its own scale) side by side, one pair of
 * bars per key; the keys on the side, where a long name wraps instead of being cut. */
export function ProfitChart({ data, label }: { data: ProfitDatum[]; label: string }) {
  const height = Math.max(180, data.length * 48 + 90);
  return (
    <ChartFrame label={label} height={height}>
      <BarChart
        data={data}
        layout="vertical"
        barGap={1}
        margin={{ top: 4, right: 16, bottom: 4, left: 4 }}
        accessibilityLayer={false}
      >
        <CartesianGrid strokeDasharray="3 3" stroke="#e5e7eb" horizontal={false} />
        <YAxis type="category" dataKey="key" tick={AXIS} width={categoryAxisWidth(data.map((d) => d.key))} />
        <XAxis xAxisId="revenue" type="number" tick={AXIS} tickFormatter={formatCompact} stroke={SALES_COLOUR} />
        <XAxis
          xAxisId="income"
          type="number"
          orientation="top"
          tick={AXIS}
          tickFormatter={formatCompact}
          stroke={INCOME_COLOUR}
        />
        <Tooltip formatter={(value) => formatMoney(Number(value))} />
        <Legend />
        <Bar
          xAxisId="revenue"
          dataKey="revenue"
          name="Revenue (bottom axis)"
          fill={SALES_COLOUR}
          isAnimationActive={false}
        />
        <Bar
          xAxisId="income"
          dataKey="grossIncome"
          name="Gross income (top axis)"
          fill={INCOME_COLOUR}
          isAnimationActive={false}
        />
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
export function Heatmap({
  cells,
  label,
  onCell,
}: {
  cells: HeatCell[];
  label: string;
  /** A click on a cell: its day of week (1 Monday ... 7 Sunday) and hour. */
  onCell?: (dayOfWeek: number, hour: number) => void;
}) {
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
                      {weekdayName(day)}: {formatMoney(row[`s${day}`] ?? 0)}
                    </li>
                  ))}
                </ul>
              </div>
            );
          }}
        />
        {DAYS.map((day) => (
          <Bar
            key={day}
            dataKey={`d${day}`}
            stackId="days"
            isAnimationActive={false}
            name={weekdayName(day)}
            cursor={onCell ? "pointer" : undefined}
            onClick={onCell ? (_, index) => onCell(day, rows[index]?.hour ?? 0) : undefined}
          >
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
      <span>{formatMoney(max)}</span>
      <span className="visually-hidden">Darker cells had more sales; the table below has every figure.</span>
    </p>
  );
}

export function shareLabel(share: number | null | undefined): string {
  return formatPercent(share ?? null);
}
