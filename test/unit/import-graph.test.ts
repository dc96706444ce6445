import { describe, expect, it } from 'vitest';
import { importCircles, importedSpecifiers, importGraph, resolveSpecifier } from '../../scripts/import-graph.js';

describe('import circles', () => {
  it('finds every circle, of types too, and only circles', () => {
    const graph = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts', 'd.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['e.ts']],
      ['e.ts', []],
      ['f.ts', ['f.ts']],
    ]);
    expect(importCircles(graph)).toEqual(expect.arrayContaining([['a.ts', 'b.ts', 'c.ts'], ['f.ts']]));
    expect(importCircles(graph)).toHaveLength(2);
    expect(
      importCircles(
        new Map([
          ['x.ts', ['y.ts']],
          ['y.ts', []],
        ]),
      ),
    ).toEqual([]);
  });

  it('reads imports, type-only imports, re-exports and dynamic imports, resolving .js to .ts', () => {
    const source =
      "import type { A } from './a.js';\nexport { B } from '../b.js';\n" +
      "const c = await import('./c/index.js');\nimport x from 'node:fs';";
    expect(importedSpecifiers(source)).toEqual(['./a.js', '../b.js', './c/index.js']);
    const files = new Set(['src/a.ts', 'b.ts', 'src/c/index.ts']);
    expect(resolveSpecifier('src/m.ts', './a.js', files)).toBe('src/a.ts');
    expect(resolveSpecifier('src/m.ts', '../b.js', files)).toBe('b.ts');
    expect(resolveSpecifier('src/m.ts', './c', files)).toBe('src/c/index.ts');
    expect(resolveSpecifier('src/m.ts', './missing.js', files)).toBeNull();
  });

  it('the repository has none', () => {
    const graph = importGraph();
    expect(graph.size).toBeGreaterThan(100);
    expect(importCircles(graph)).toEqual([]);
  });
});
