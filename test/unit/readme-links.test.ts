import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../..', import.meta.url).pathname;

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2, ... */
function headingAnchors(markdown: string): string[] {
  const seen = new Map<string, number>();
  const anchors: string[] = [];
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6} (.+)$/.exec(line);
    if (!heading) continue;
    const base = (heading[1] ?? '')
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}_\- ]/gu, '')
      .replace(/ /g, '-');
    const repeats = seen.get(base) ?? 0;
    seen.set(base, repeats + 1);
    anchors.push(repeats === 0 ? base : `${base}-${repeats}`);
  }
  return anchors;
}

/** Link targets outside fenced code: `[text](target)` and `![alt](target)`. */
function linkTargets(markdown: string): string[] {
  const prose = markdown.split(/^```.*$/m).filter((_, i) => i % 2 === 0);
  return prose.flatMap((part) => [...part.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] ?? ''));
}

describe('README links', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

  it('derives anchors as GitHub does, code blocks left out', () => {
    const sample = "# A\n## The gateway's cache\n```sh\n# not a heading\n```\n### Views (CORS)\n## A\n";
    expect(headingAnchors(sample)).toEqual(['a', 'the-gateways-cache', 'views-cors', 'a-1']);
    expect(linkTargets('[x](#a) `[y](#b)`\n```\n[z](#c)\n```\n![i](docs/i.png)')).toEqual(['#a', '#b', 'docs/i.png']);
  });

  it('every link to a section of the README names a heading it has', () => {
    const anchors = new Set(headingAnchors(readme));
    const broken = linkTargets(readme).filter((t) => t.startsWith('#') && !anchors.has(t.slice(1)));
    expect(broken, 'README.md links to sections it does not have').toEqual([]);
  });

  it('every link or image to a file of the repository exists', () => {
    const files = linkTargets(readme).filter((t) => !t.startsWith('#') && !/^[a-z]+:/i.test(t));
    expect(files).toContain('docs/images/dashboard-overview-analyst.png');
    const missing = files.filter((t) => !existsSync(join(ROOT, decodeURIComponent(t.split('#')[0] ?? t))));
    expect(missing, 'README.md links to files that do not exist').toEqual([]);
  });
});
