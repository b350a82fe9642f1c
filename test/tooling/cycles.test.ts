/**
 * No import cycles in src/: dependency-cruiser builds the module graph (static, dynamic and
 * type-only imports all count: a cycle through types is still a cycle between layers), and every
 * strongly connected component of more than one module, or a module importing itself, is a cycle.
 * The failure lists each cycle as the modules it joins and one closed path through them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cruise } from 'dependency-cruiser';
import { ROOT } from '../helpers.js';

type Graph = Map<string, string[]>;

async function importGraph(): Promise<Graph> {
  const cwd = process.cwd();
  process.chdir(ROOT); // dependency-cruiser resolves paths from the working directory
  try {
    const res = await cruise(['src'], { tsPreCompilationDeps: true, doNotFollow: { path: 'node_modules' } }, undefined, {
      tsConfig: { fileName: 'tsconfig.json' },
    });
    if (typeof res.output === 'string') throw new Error('dependency-cruiser returned text, not a graph');
    const g: Graph = new Map();
    for (const m of res.output.modules) {
      if (!m.source.startsWith('src/')) continue;
      g.set(
        m.source,
        m.dependencies.map((d) => d.resolved).filter((r) => r.startsWith('src/')),
      );
    }
    return g;
  } finally {
    process.chdir(cwd);
  }
}

/** Tarjan's algorithm: the strongly connected components of the graph. */
function components(g: Graph): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of g.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      out.push(comp.sort());
    }
  };
  for (const v of [...g.keys()].sort()) if (!index.has(v)) visit(v);
  return out;
}

/** One closed path inside a component, from its first module back to it (breadth-first, shortest). */
function cyclePath(g: Graph, comp: string[]): string[] {
  const inComp = new Set(comp);
  const start = comp[0]!;
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of g.get(v) ?? []) {
      if (!inComp.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let u = v; u !== start; u = prev.get(u)!) path.splice(1, 0, u);
        return [...path, start];
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return comp;
}

test('src/ has no import cycles', async () => {
  const g = await importGraph();
  assert.ok(g.size > 20, `dependency-cruiser found only ${g.size} modules under src/`);
  const cycles = components(g).filter((c) => c.length > 1 || (g.get(c[0]!) ?? []).includes(c[0]!));
  const text = cycles.map((c, i) => `cycle ${i + 1} (${c.length} modules):\n  ${c.join('\n  ')}\n  for example: ${cyclePath(g, c).join(' -> ')}`).join('\n');
  assert.equal(cycles.length, 0, `${cycles.length} import cycle(s) in src/:\n${text}`);
});
