import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT_DIR } from '../../scripts/import-graph.js';

/** Every source file of the project (TypeScript and SDL), outside dependencies and generated output. */
function sourceFiles(dir = ROOT_DIR): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (['node_modules', '.services', '.git', '.scratch', 'coverage'].includes(entry.name)) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|graphql)$/.test(entry.name) ? [path] : [];
  });
}

describe("the documents the code cites are the project's own", () => {
  const files = sourceFiles().map((path) => ({ path: relative(ROOT_DIR, path), text: readFileSync(path, 'utf8') }));

  it('reads the whole tree', () => {
    expect(files.some((f) => f.path === 'subgraphs/cases/case/eligibility.ts')).toBe(true);
    expect(files.length).toBeGreaterThan(100);
  });

  it('cites no document outside the repository (the programme facts live in docs/domain.md)', () => {
    const outside = files.filter((f) => /DOMAIN\.md|ARCHITECTURE\.md/.test(f.text)).map((f) => f.path);
    expect(outside).toEqual([]);
  });

  it('every docs/ file a source file names exists', () => {
    const missing = files.flatMap((f) =>
      [...f.text.matchAll(/\bdocs\/[\w./-]+\.md\b/g)]
        .map((m) => m[0])
        .filter((doc) => !existsSync(join(ROOT_DIR, doc)))
        .map((doc) => `${f.path}: ${doc}`),
    );
    expect(missing).toEqual([]);
    expect(files.some((f) => f.text.includes('docs/domain.md'))).toBe(true);
  });
});
