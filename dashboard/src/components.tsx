import { createContext, useContext, useEffect, useId, useRef, type ReactNode } from 'react';
import type { CombinedError } from 'urql';
import * as echarts from 'echarts/core';
import { BarChart, LineChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { SVGRenderer } from 'echarts/renderers';
import type { Translator } from './i18n';
import type { TokenPrincipal } from './logic';

echarts.use([BarChart, LineChart, GridComponent, TooltipComponent, LegendComponent, SVGRenderer]);

export const I18n = createContext<Translator | null>(null);
export function useI18n(): Translator {
  const t = useContext(I18n);
  if (!t) throw new Error('useI18n outside <I18n.Provider>');
  return t;
}

export const PrincipalContext = createContext<TokenPrincipal | null>(null);
export const usePrincipal = (): TokenPrincipal | null => useContext(PrincipalContext);

/**
 * Marks, once per view, when its figures are on screen: `avrr:ready:<view>` in the browser's
 * performance timeline (bench:dashboard reads it as the view's first meaningful paint).
 */
export function useViewReady(view: string, ready: boolean): void {
  const marked = useRef(false);
  useEffect(() => {
    if (!ready || marked.current) return;
    marked.current = true;
    requestAnimationFrame(() => performance.mark(`avrr:ready:${view}`));
  }, [ready, view]);
}

export function ViewRoot(props: { name: string; title: string; busy: boolean; children: ReactNode }) {
  return (
    <section data-testid={`view-${props.name}`} aria-busy={props.busy} aria-labelledby={`h-${props.name}`}>
      <h2 id={`h-${props.name}`}>{props.title}</h2>
      {props.busy && <p role="status">{useI18n().t('common.loading')}</p>}
      {props.children}
    </section>
  );
}

/** GraphQL errors as the graph gave them: code and message (and path). */
export function ErrorBox({ error }: { error: CombinedError | undefined }) {
  const { t } = useI18n();
  if (!error) return null;
  const items = error.graphQLErrors.length
    ? error.graphQLErrors.map((e) => ({
        code: typeof e.extensions?.code === 'string' ? e.extensions.code : 'GRAPHQL_ERROR',
        message: e.message,
        path: e.path?.join('.') ?? '',
      }))
    : [{ code: 'NETWORK_ERROR', message: error.networkError?.message ?? error.message, path: '' }];
  return (
    <div role="alert" className="error" data-testid="graph-error">
      <strong>{t('common.error')}</strong>
      <ul>
        {items.map((e, i) => (
          <li key={i}>
            <code data-testid="error-code">{e.code}</code> {e.message}
            {e.path && <small> ({e.path})</small>}
          </li>
        ))}
      </ul>
    </div>
  );
}

export function Suppressed() {
  const { t } = useI18n();
  return (
    <span className="suppressed" data-suppressed="true" title={t('common.suppressedTitle')}>
      {t('common.suppressed')}
    </span>
  );
}

export function SuppressionNote({ threshold }: { threshold: number | null | undefined }) {
  const { t } = useI18n();
  return (
    <p className="note" data-testid="suppression-note">
      {t('common.suppressedExplain', { threshold: threshold ?? '?' })}
    </p>
  );
}

/** One figure: its raw number in `data-value` (empty when withheld or absent) for tests and the bench. */
export function Tile(props: {
  id: string;
  label: string;
  value: number | null | undefined;
  format?: (n: number) => string;
  suppressed?: boolean;
  note?: string;
}) {
  const { number } = useI18n();
  const shown = props.value ?? null;
  return (
    <div className="tile" data-testid={`tile-${props.id}`} data-value={shown ?? ''}>
      <div className="tile-label">{props.label}</div>
      <div className="tile-value">
        {shown === null ? props.suppressed ? <Suppressed /> : '—' : (props.format ?? number)(shown)}
      </div>
      {props.note && <div className="tile-note">{props.note}</div>}
    </div>
  );
}

export interface Row {
  key: string;
  label?: string;
  value: number | null;
  suppressed?: boolean;
}

/** A chart (ECharts, drawn as SVG) with its figures as a table below for keyboards and screen readers. */
export function Chart(props: {
  id: string;
  title: string;
  rows: Row[];
  kind?: 'bar' | 'line';
  /** How a value is written (table, tooltip, summary). */
  format?: (n: number) => string;
  /** What the chart plots is value ÷ plotScale (100: cents plotted as euros); default 1. */
  plotScale?: number;
  /** How the value axis labels a plotted value (default: a plain number). */
  axisFormat?: (plotted: number) => string;
}) {
  const { t, number } = useI18n();
  const format = props.format ?? number;
  const scale = props.plotScale ?? 1;
  const axisFormat = props.axisFormat ?? ((n: number) => number(n));
  // Read by the chart's callbacks: a new function on each render does not redraw the chart.
  const formatters = useRef({ format, axisFormat, withheld: t('common.suppressed') });
  formatters.current = { format, axisFormat, withheld: t('common.suppressed') };
  const ref = useRef<HTMLDivElement>(null);
  const headingId = useId();
  useEffect(() => {
    if (!ref.current) return;
    const chart = echarts.init(ref.current, undefined, { renderer: 'svg' });
    chart.setOption({
      animation: false,
      grid: { left: 8, right: 8, top: 8, bottom: 8, containLabel: true },
      tooltip: {
        trigger: 'axis',
        valueFormatter: (v: unknown) =>
          typeof v === 'number' ? formatters.current.format(v * scale) : formatters.current.withheld,
      },
      xAxis: { type: 'category', data: props.rows.map((r) => r.label ?? r.key) },
      yAxis: { type: 'value', axisLabel: { formatter: (v: number) => formatters.current.axisFormat(v) } },
      series: [
        {
          type: props.kind ?? 'bar',
          data: props.rows.map((r) => (r.value === null ? null : r.value / scale)),
          name: props.title,
        },
      ],
    });
    const resize = () => chart.resize();
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      chart.dispose();
    };
  }, [props.rows, props.kind, props.title, scale]);
  const summary = props.rows
    .slice(0, 5)
    .map((r) => `${r.label ?? r.key}: ${r.value === null ? t('common.suppressed') : format(r.value)}`)
    .join('; ');
  return (
    <figure className="chart" data-testid={`chart-${props.id}`}>
      <h3 id={headingId}>{props.title}</h3>
      <div ref={ref} className="chart-canvas" role="img" aria-label={`${props.title}. ${summary}`} />
      <details>
        <summary>{t('common.dataTable', { title: props.title })}</summary>
        <DataTable id={props.id} caption={props.title} rows={props.rows} format={format} />
      </details>
    </figure>
  );
}

export function DataTable(props: { id: string; caption: string; rows: Row[]; format: (n: number) => string }) {
  const { t } = useI18n();
  if (props.rows.length === 0) return <p>{t('common.none')}</p>;
  return (
    <table data-testid={`table-${props.id}`}>
      <caption className="visually-hidden">{props.caption}</caption>
      <thead>
        <tr>
          <th scope="col">{t('common.key')}</th>
          <th scope="col">{t('common.value')}</th>
        </tr>
      </thead>
      <tbody>
        {props.rows.map((r) => (
          <tr key={r.key} data-testid={`row-${props.id}-${r.key}`} data-value={r.value ?? ''}>
            <th scope="row">{r.label ?? r.key}</th>
            <td>{r.value === null ? r.suppressed ? <Suppressed /> : '—' : props.format(r.value)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A month (YYYY-MM; '' when cleared), the browser's own month picker. */
export function MonthField(props: { label: string; value: string; onChange: (value: string) => void; testid: string }) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      <input
        id={id}
        type="month"
        data-testid={props.testid}
        value={props.value}
        min="2000-01"
        max="2100-12"
        onChange={(e) => props.onChange(e.target.value)}
      />
    </div>
  );
}

export function SelectField(props: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  options: Array<{ value: string; label: string }>;
  testid: string;
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      <select id={id} data-testid={props.testid} value={props.value} onChange={(e) => props.onChange(e.target.value)}>
        {props.options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </div>
  );
}
