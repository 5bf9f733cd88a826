/**
 * deploy/ (Grafana dashboard, Prometheus alerts) and docs/observability.md
 * name only metrics the service exports, and the docs table lists them all.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { AUDIT_EVENTS } from '../src/observability/audit.js';
import { createMetrics } from '../src/observability/metrics.js';

const read = (path: string): string => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
const registry = createMetrics('test').registry;
const exported = new Map(registry.getMetricsAsArray().map((m) => [m.name, String(m.type)]));

/** Every metric name in `text`, with a histogram's _bucket/_sum/_count series mapped to the histogram. */
function metricNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const [name] of text.matchAll(/\bmeridian_[a-z0-9_]+/g)) {
    const base = name.replace(/_(bucket|sum|count)$/, '');
    names.add(exported.get(base) === 'histogram' ? base : name);
  }
  return names;
}

describe('deploy files and docs use the exported metric names', () => {
  it('the Grafana dashboard is JSON and queries only exported metrics', () => {
    const dashboard = JSON.parse(read('deploy/grafana/meridian-dashboard.json')) as { panels: { targets?: { expr: string }[] }[] };
    const exprs = dashboard.panels.flatMap((p) => p.targets ?? []).map((t) => t.expr);
    assert.ok(exprs.length > 20);
    const names = metricNames(exprs.join('\n'));
    for (const name of names) assert.ok(exported.has(name), `dashboard queries ${name}, which is not exported`);
  });

  it('the alert rules use only exported metrics', () => {
    const rules = read('deploy/prometheus/meridian-alerts.yml');
    assert.ok((rules.match(/^\s+- alert: /gm) ?? []).length >= 15);
    for (const name of metricNames(rules)) assert.ok(exported.has(name), `alerts use ${name}, which is not exported`);
  });

  it('docs/observability.md has a table row for every metric the service declares', () => {
    const docs = read('docs/observability.md');
    const rows = new Set([...docs.matchAll(/^\| `(meridian_[a-z0-9_]+)`/gm)].map((m) => m[1]));
    for (const name of exported.keys()) {
      // Process and runtime metrics come from prom-client's defaults and are described as a group.
      if (/^meridian_(process|nodejs)_/.test(name)) continue;
      assert.ok(rows.has(name), `docs/observability.md lacks a row for ${name}`);
    }
    for (const name of rows) assert.ok(exported.has(name as string), `docs describe ${name}, which is not exported`);
    for (const name of metricNames(docs)) assert.ok(exported.has(name), `docs mention ${name}, which is not exported`);
  });

  it('docs/observability.md documents every audit event', () => {
    const docs = read('docs/observability.md');
    for (const event of AUDIT_EVENTS) assert.match(docs, new RegExp(`^\\| \`${event.replace('.', '\\.')}\` \\|`, 'm'), `no row for ${event}`);
  });
});
