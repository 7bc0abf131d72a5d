import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alg, json } from '@dagrejs/graphlib';
import { describe, expect, it } from 'vitest';
import { callGraphOf, shortestCallPath } from '../src/callgraph/graphlib.js';

const hasGcc = spawnSync('gcc', ['--version']).status === 0;
const work = mkdtempSync(join(tmpdir(), 'ukl-graphlib-'));

describe.skipIf(!hasGcc && process.env.CI !== 'true')('the call graph as a @dagrejs/graphlib Graph', () => {
  it('has every function and call the analysis saw; witness paths run along its edges; graphlib algorithms answer on it', () => {
    const echo = join(work, 'echo');
    const cc = spawnSync('gcc', ['-static', '-O2', '-o', echo, 'examples/echo-server/echo.c'], { encoding: 'utf8' });
    expect(cc.status, cc.stderr).toBe(0);
    const { report, graph } = callGraphOf(echo);
    expect(graph.isDirected()).toBe(true);
    expect(graph.nodeCount()).toBe(report.stats.functions);
    expect(graph.nodes().filter((n) => graph.node(n).reached)).toHaveLength(report.stats.reachableFunctions);
    expect(graph.graph().roots).toEqual(report.roots);
    const accept = report.syscalls.find((s) => s.name === 'accept4' || s.name === 'accept');
    expect(accept).toBeDefined();
    const where = accept?.path.at(-1) as string;
    expect(graph.node(where).syscalls).toContain(accept?.name);
    // a witness path without indirect-call steps is a path of the graph, and as short as graphlib's shortest
    for (const s of report.syscalls.filter((x) => !x.path.some((step) => step.startsWith('<')))) {
      for (let i = 1; i < s.path.length; i++) expect(graph.hasEdge(s.path[i - 1] as string, s.path[i] as string), `${s.name}: ${s.path.join(' → ')}`).toBe(true);
      expect(shortestCallPath(graph, report.roots, s.path.at(-1) as string)).toHaveLength(s.path.length);
    }
    expect(alg.isAcyclic(graph)).toBe(false); // recursion in libc
    const copy = json.read(JSON.parse(JSON.stringify(json.write(graph))));
    expect(copy.edgeCount()).toBe(graph.edgeCount());
  }, 120_000);
});
