import { readFileSync } from 'node:fs';
import { Metric } from './instruments.js';

/** The Grafana dashboard of the metrics (docs/observability.md): it must keep in step with Metric. */
const DASHBOARD = new URL('../../../deploy/grafana/dbaccess.json', import.meta.url);

interface GridPos {
  h: number;
  w: number;
  x: number;
  y: number;
}

interface Panel {
  id: number;
  title: string;
  type: string;
  gridPos: GridPos;
  targets?: { expr?: string }[];
  /** A collapsed row's panels. */
  panels?: Panel[];
}

interface Dashboard {
  uid: string;
  schemaVersion: number;
  panels: Panel[];
}

const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
const exprs = panels.flatMap((p) => (p.targets ?? []).flatMap((t) => (t.expr ? [{ panel: p.title, expr: t.expr }] : [])));

/** Prometheus names of the metrics, as the OpenTelemetry exporter writes them (dots as underscores). */
const metricNames = new Set(Object.values(Metric).map((name) => name.replaceAll('.', '_')));
const SUFFIXES = ['_total', '_bucket', '_sum', '_count'];

/** The metric an exported series name belongs to: itself, or without a counter's or a histogram's suffix. */
function metricOf(series: string): string | undefined {
  if (metricNames.has(series)) return series;
  const suffix = SUFFIXES.find((s) => series.endsWith(s) && metricNames.has(series.slice(0, -s.length)));
  return suffix ? series.slice(0, -suffix.length) : undefined;
}

/**
 * The series names an expression selects: identifiers of our prefixes outside label matchers (`{...}`)
 * and grouping clauses (`by (...)`), where label names such as dbaccess_database and rpc_method are.
 */
function seriesIn(expr: string): string[] {
  const bare = expr.replace(/\{[^}]*\}/g, '{}').replace(/\b(?:by|without)\s*\([^)]*\)/g, '');
  return [...bare.matchAll(/\b(?:dbaccess|rpc|nodejs|v8js|process)_[a-z0-9_]+/g)].map((m) => m[0]);
}

function overlaps(a: GridPos, b: GridPos): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

describe('the Grafana dashboard', () => {
  it('is the dbaccess dashboard, with queries', () => {
    expect(dashboard.uid).toBe('dbaccess-overview');
    expect(dashboard.schemaVersion).toBe(39);
    expect(exprs.length).toBeGreaterThan(0);
  });

  it('gives every panel its own id', () => {
    const ids = panels.map((p) => p.id);
    expect(ids.every((id) => Number.isInteger(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('lays its panels out within 24 columns, none over another', () => {
    const outside = panels.filter(({ gridPos: g }) => !(g.x >= 0 && g.y >= 0 && g.w > 0 && g.h > 0 && g.x + g.w <= 24));
    expect(outside.map((p) => p.title)).toEqual([]);
    const collisions = panels.flatMap((a, i) =>
      panels.slice(i + 1).flatMap((b) => (overlaps(a.gridPos, b.gridPos) ? [`${a.title} / ${b.title}`] : [])),
    );
    expect(collisions).toEqual([]);
  });

  it('queries only metrics the code exports', () => {
    const unknown = exprs.flatMap(({ panel, expr }) => seriesIn(expr).flatMap((s) => (metricOf(s) ? [] : [`${panel}: ${s}`])));
    expect(unknown).toEqual([]);
  });

  it('shows every metric the code exports', () => {
    const shown = new Set(exprs.flatMap(({ expr }) => seriesIn(expr).flatMap((s) => metricOf(s) ?? [])));
    expect([...metricNames].filter((name) => !shown.has(name))).toEqual([]);
  });

  it('filters every selector by the job and instance variables', () => {
    const selectors = exprs.flatMap(({ panel, expr }) =>
      [...expr.matchAll(/\b((?:dbaccess|rpc|nodejs|v8js|process)_[a-z0-9_]+)\s*(\{[^}]*\})?/g)]
        .filter((m) => metricOf(m[1]!) !== undefined)
        .map((m) => ({ panel, series: m[1], filtered: /job=~"\$job"/.test(m[2] ?? '') && /instance=~"\$instance"/.test(m[2] ?? '') })),
    );
    expect(selectors.filter((s) => !s.filtered)).toEqual([]);
  });
});
