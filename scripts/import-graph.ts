/**
 * The repository's import graph, from its TypeScript sources, and the import circles in it.
 * `npx tsx scripts/import-graph.ts` prints the circles (none, exit 0); test/unit/import-graph.test.ts
 * keeps it that way. Type-only imports count: a circle of types is still a circle to read.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const ROOT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Folders that hold no project source. */
const SKIPPED = new Set(['node_modules', '.services', '.git', 'coverage', 'tools']);

/** Every project `.ts` file under `root`, relative to it, with `/` separators. */
export function sourceFiles(root: string, dir = root): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIPPED.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...sourceFiles(root, path));
    else if (entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
      files.push(relative(root, path).split('\\').join('/'));
    }
  }
  return files.sort();
}

/**
 * The relative modules a source names: imports (type-only too), re-exports and dynamic
 * imports, as they are written (`./x.js`).
 */
export function importedSpecifiers(source: string): string[] {
  return ts
    .preProcessFile(source, true, true)
    .importedFiles.map((f) => f.fileName)
    .filter((name) => name.startsWith('./') || name.startsWith('../'));
}

/** The file a relative ESM specifier resolves to among `files`, or null (a JSON file, or a missing one). */
export function resolveSpecifier(from: string, specifier: string, files: ReadonlySet<string>): string | null {
  const target = join(dirname(from), specifier).split('\\').join('/');
  for (const candidate of [target.replace(/\.js$/, '.ts'), target, `${target}.ts`, `${target}/index.ts`]) {
    if (files.has(candidate)) return candidate;
  }
  return null;
}

export type ImportGraph = Map<string, string[]>;

export function importGraph(root = ROOT_DIR): ImportGraph {
  const files = sourceFiles(root);
  const known = new Set(files);
  const graph: ImportGraph = new Map();
  for (const file of files) {
    const targets = importedSpecifiers(readFileSync(join(root, file), 'utf8'))
      .map((specifier) => resolveSpecifier(file, specifier, known))
      .filter((target): target is string => target !== null);
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/**
 * The import circles of a graph: each strongly connected group of more than one module (or
 * a module importing itself), its members sorted (Tarjan's algorithm, iterative).
 */
export function importCircles(graph: ImportGraph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const circles: string[][] = [];
  let next = 0;
  for (const start of graph.keys()) {
    if (index.has(start)) continue;
    const work: Array<{ node: string; edge: number }> = [{ node: start, edge: 0 }];
    index.set(start, next);
    low.set(start, next++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const edges = graph.get(frame.node) ?? [];
      if (frame.edge < edges.length) {
        const target = edges[frame.edge++]!;
        if (!index.has(target)) {
          index.set(target, next);
          low.set(target, next++);
          stack.push(target);
          onStack.add(target);
          work.push({ node: target, edge: 0 });
        } else if (onStack.has(target)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(target)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) !== index.get(frame.node)) continue;
      const group: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        group.push(member);
      } while (member !== frame.node);
      if (group.length > 1 || edges.includes(frame.node)) circles.push(group.sort());
    }
  }
  return circles;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const circles = importCircles(importGraph());
  for (const circle of circles) console.log(`circle: ${circle.join(' ↔ ')}`);
  console.log(circles.length === 0 ? 'import circles: none' : `${circles.length} import circle(s)`);
  process.exit(circles.length === 0 ? 0 : 1);
}
