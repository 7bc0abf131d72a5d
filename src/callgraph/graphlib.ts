import { alg, Graph } from '@dagrejs/graphlib';
import { analyzeElfWithGraph, loadStaticExecutable, type AnalysisReport, type AnalyzeOptions } from './analyze.js';
import type { CallGraph, Reachability } from './graph.js';

/** a function of the app: whether the analysis reached it, and the syscalls whose witness path ends there */
export interface FunctionLabel {
  reached: boolean;
  syscalls: string[];
}

/** the analysed input and the functions the reachability started from */
export interface CallGraphLabel {
  input: string;
  roots: string[];
}

export type AppCallGraph = Graph<CallGraphLabel, FunctionLabel>;

/**
 * The analysed call graph of a static executable as a `@dagrejs/graphlib` Graph (directed, one
 * node per function, one edge per caller → callee), with the analysis report. Query it with
 * graphlib's algorithms, or export it with `json.write(graph)`.
 */
export function callGraphOf(path: string, opts: AnalyzeOptions = {}): { report: AnalysisReport; graph: AppCallGraph } {
  const { elf, names } = loadStaticExecutable(path, opts);
  const { report, graph, reach } = analyzeElfWithGraph(elf, path, names);
  return { report, graph: toGraphlib(graph, reach, report) };
}

export function toGraphlib(calls: CallGraph, reach: Reachability, report: AnalysisReport): AppCallGraph {
  const graph: AppCallGraph = new Graph({ directed: true, multigraph: false, compound: false });
  graph.setGraph({ input: report.input, roots: [...report.roots] });
  const syscallsAt = new Map<string, string[]>();
  for (const s of report.syscalls) {
    const last = s.path.at(-1);
    if (last !== undefined) syscallsAt.set(last, [...(syscallsAt.get(last) ?? []), s.name]);
  }
  for (let id = 0; id < calls.size; id++) {
    const name = calls.nameOf(id);
    graph.setNode(name, { reached: reach.isReached(name), syscalls: syscallsAt.get(name) ?? [] });
  }
  for (let id = 0; id < calls.size; id++) {
    const from = calls.nameOf(id);
    for (const to of calls.successors(id)) graph.setEdge(from, calls.nameOf(to));
  }
  return graph;
}

/** a shortest call path from one of `roots` to `target` by graphlib's Dijkstra, or [] */
export function shortestCallPath(graph: AppCallGraph, roots: readonly string[], target: string): string[] {
  let best: string[] = [];
  for (const root of roots) {
    if (!graph.hasNode(root)) continue;
    const distances = alg.dijkstra(graph, root);
    if (distances[target] === undefined || distances[target].distance === Number.POSITIVE_INFINITY) continue;
    const path = [target];
    for (let node = target; node !== root; ) {
      node = distances[node]?.predecessor as string;
      path.unshift(node);
    }
    if (best.length === 0 || path.length < best.length) best = path;
  }
  return best;
}
