import { readFileSync } from 'node:fs';
import { parser } from '@prometheus-io/lezer-promql';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  gatewayMetrics,
  ingestQueueMetrics,
  ingestWorkerMetrics,
  queueMetrics,
  sharedRegistry,
} from '../../shared/metrics.js';

/** Every metric name an expression selects, and whether the expression parsed without error. */
function analyse(expr: string): { names: string[]; errors: number } {
  const tree = parser.parse(expr);
  const names: string[] = [];
  let errors = 0;
  tree.iterate({
    enter: (node) => {
      if (node.type.isError) errors++;
      if (node.name === 'VectorSelector') {
        const id = node.node.getChild('Identifier');
        if (id) names.push(expr.slice(id.from, id.to));
      }
    },
  });
  return { names, errors };
}

/** The names the processes export (histograms as their series), from the same registries they serve. */
async function exportedNames(): Promise<Set<string>> {
  const registry = new Registry();
  gatewayMetrics(registry);
  ingestWorkerMetrics(registry);
  ingestQueueMetrics(registry, async () => ({}));
  queueMetrics(registry, []);
  const names = new Set(['up']);
  for (const metric of [...(await registry.getMetricsAsJSON()), ...(await sharedRegistry.getMetricsAsJSON())]) {
    names.add(metric.name);
    if (String(metric.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(metric.name + s);
  }
  return names;
}

interface Rule {
  alert: string;
  expr: string;
  labels: { severity: string };
  annotations: { summary: string };
}

describe('ops artifacts', () => {
  const rules = (
    parse(readFileSync('ops/prometheus/alerts.yml', 'utf8')) as { groups: Array<{ rules: Rule[] }> }
  ).groups.flatMap((group) => group.rules);
  const dashboard = JSON.parse(readFileSync('ops/grafana/avrr.json', 'utf8')) as {
    panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
  };

  it('alert rules are well formed, cover the issue list and parse as PromQL', () => {
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) {
      expect(rule.alert).toMatch(/^Avrr[A-Za-z]+$/);
      expect(['critical', 'warning']).toContain(rule.labels.severity);
      expect(rule.annotations.summary.length).toBeGreaterThan(10);
      expect(analyse(rule.expr).errors, rule.alert).toBe(0);
    }
    const names = rules.map((rule) => rule.alert);
    for (const needed of [
      'AvrrSubgraphUnavailable',
      'AvrrCaseEventConsumerLag',
      'AvrrFailedChunks',
      'AvrrWebhookFailures',
      'AvrrProcessDown',
    ])
      expect(names).toContain(needed);
    expect(new Set(names).size).toBe(names.length);
  });

  it('the PromQL check does catch a broken expression', () => {
    expect(analyse('sum(rate(avrr_x[5m])').errors).toBeGreaterThan(0);
    expect(analyse('rate(avrr_x[5m])').names).toEqual(['avrr_x']);
  });

  it('every metric an alert or a dashboard panel uses is one the processes export', async () => {
    const exported = await exportedNames();
    const used = [...rules.map((r) => r.expr), ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr))];
    for (const expr of used) {
      const { names, errors } = analyse(expr);
      expect(errors, expr).toBe(0);
      for (const name of names) expect(exported, `${name} in ${expr}`).toContain(name);
    }
  });
});
