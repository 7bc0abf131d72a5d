import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { minimizeConfig } from '../src/minimize/minimize.js';
import { ProjectFileSchema, type Project } from '../src/lsp/project.js';
import { Reloader, type ProjectCheck, type ReloadEvents, type ReloadSteps } from '../src/lsp/reload.js';
import { SerialQueue } from '../src/lsp/serial.js';
import type { Snapshot } from '../src/lsp/snapshot.js';
import { KernelWorkspace } from '../src/lsp/workspace.js';

/**
 * Reloads that overlap, on fixtures/kernel-mini: the steps are held open by hand so that an
 * older reload ends after a newer one, and the minimiser counts how many runs are in flight.
 */
const TREE = resolve('fixtures/kernel-mini');

interface Gate {
  /** held until `open()`; `reached` once something waits on it */
  wait(): Promise<void>;
  open(): void;
  reached: boolean;
}
function gate(): Gate {
  let open = (): void => {};
  const promise = new Promise<void>((r) => (open = r));
  const g: Gate = { wait: () => ((g.reached = true), promise), open: () => open(), reached: false };
  return g;
}
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

/** a project that asks for one option (the minimiser here enables it, no app analysis) */
function project(option: string): Project {
  return { file: `/p/${option}/ukl-trim.json`, app: [`/p/${option}/app.o`], settings: ProjectFileSchema.parse({ app: 'app.o', profile: null, enable: [option] }) };
}

/** the real minimiser without the app, held at `holds.get(option)`; counts overlapping runs */
function countingMinimizer(holds: Map<string, Gate>): { minimize: typeof minimizeConfig; runs: string[]; maxInFlight: () => number } {
  let inFlight = 0;
  let max = 0;
  const runs: string[] = [];
  const minimize: typeof minimizeConfig = async ({ app: _app, ...opts }) => {
    const option = opts.enable?.[0] ?? '';
    runs.push(option);
    max = Math.max(max, ++inFlight);
    try {
      await holds.get(option)?.wait();
      return await minimizeConfig(opts);
    } finally {
      inFlight--;
    }
  };
  return { minimize, runs, maxInFlight: () => max };
}

function recorder(): { events: ReloadEvents; loaded: Snapshot[]; messages: string[] } {
  const loaded: Snapshot[] = [];
  const messages: string[] = [];
  const events: ReloadEvents = {
    begin: () => Promise.resolve({ report: () => {}, done: () => {} }),
    projectChecked: () => {},
    loaded: (s) => void loaded.push(s),
    message: (_type, text) => void messages.push(text),
    log: () => {},
  };
  return { events, loaded, messages };
}

/** reloads read the projects in turn; each step may be held by a gate */
function steps(projects: Project[], minimize: typeof minimizeConfig, holds: { resolveTree?: Gate[]; open?: Gate[] } = {}): ReloadSteps {
  let read = 0;
  let resolved = 0;
  let opened = 0;
  return {
    readProject: (): ProjectCheck => ({ project: projects[read++], problems: [] }),
    resolveTree: async () => {
      await holds.resolveTree?.[resolved++]?.wait();
      return TREE;
    },
    open: async (tree, arch) => {
      await holds.open?.[opened++]?.wait();
      return KernelWorkspace.open(tree, arch, minimize);
    },
  };
}

const enabled = (s: Snapshot, option: string): boolean | undefined => s.workspace?.current.enabled.has(option);

describe('reloads that overlap', () => {
  it.each(['resolveTree', 'open'] as const)('an older reload held in %s ends after the newer one and changes nothing', async (step) => {
    const held = gate();
    const counting = countingMinimizer(new Map());
    const { events, loaded } = recorder();
    const reloader = new Reloader(steps([project('NET'), project('EPOLL')], counting.minimize, { [step]: [held] }), events);
    const older = reloader.reload('older');
    while (!held.reached) await tick();
    const ready = reloader.ready();
    await reloader.reload('newer');
    expect(reloader.snapshot.project?.settings.enable).toEqual(['EPOLL']);
    held.open();
    await older;
    const s = await ready;
    expect(s.project?.settings.enable).toEqual(['EPOLL']);
    expect([enabled(s, 'EPOLL'), enabled(s, 'NET')]).toEqual([true, false]);
    expect(counting.runs).toEqual(['EPOLL']);
    expect(loaded).toHaveLength(1);
    // the engine holds the view's configuration, not the minimiser's last state
    expect(s.workspace?.kc.evaluate('EPOLL && !NET')).toBe(2);
  }, 30_000);

  it('minimisations run one at a time; a superseded one is dropped, a queued superseded one never runs', async () => {
    const holdNet = gate();
    const counting = countingMinimizer(new Map([['NET', holdNet]]));
    const { events, loaded } = recorder();
    const reloader = new Reloader(steps([project('NET'), project('SYSVIPC'), project('EPOLL')], counting.minimize), events);
    const first = reloader.reload('first');
    while (!holdNet.reached) await tick();
    const second = reloader.reload('second');
    const third = reloader.reload('third');
    for (let i = 0; i < 20; i++) await tick();
    expect(counting.runs).toEqual(['NET']);
    holdNet.open();
    await Promise.all([first, second, third]);
    expect(counting.runs).toEqual(['NET', 'EPOLL']);
    expect(counting.maxInFlight()).toBe(1);
    const s = reloader.snapshot;
    expect([enabled(s, 'EPOLL'), enabled(s, 'NET'), enabled(s, 'SYSVIPC')]).toEqual([true, false, false]);
    expect(loaded.map((l) => l.project?.settings.enable)).toEqual([['EPOLL']]);
  }, 30_000);

  it("loading the tree's .config waits for a minimisation in flight", async () => {
    const hold = gate();
    const counting = countingMinimizer(new Map([['NET', hold]]));
    const ws = await KernelWorkspace.open(TREE, 'x86_64', counting.minimize);
    const minimised = ws.useProject(project('NET'));
    let treeConfigDone = false;
    const treeConfig = ws.useTreeConfig().then(() => (treeConfigDone = true));
    for (let i = 0; i < 20; i++) await tick();
    expect(treeConfigDone).toBe(false);
    hold.open();
    expect((await minimised)?.config).toMatch(/^CONFIG_NET=y$/m);
    await treeConfig;
    expect(ws.current.source).toBe('defaults');
    expect(ws.kc.evaluate('NET')).toBe(0);
  }, 30_000);
});

describe('KernelWorkspace.useProject superseded while it runs', () => {
  it('leaves the view and the engine on the configuration they had', async () => {
    const hold = gate();
    const counting = countingMinimizer(new Map([['NET', hold]]));
    const ws = await KernelWorkspace.open(TREE, 'x86_64', counting.minimize);
    let current = true;
    const minimised = ws.useProject(project('NET'), { isCurrent: () => current });
    while (!hold.reached) await tick();
    current = false;
    hold.open();
    expect(await minimised).toBeUndefined();
    expect(counting.runs).toEqual(['NET']);
    expect([ws.current.source, ws.current.enabled.has('NET')]).toEqual(['defaults', false]);
    // the minimiser's last state had NET on
    expect(ws.kc.evaluate('NET')).toBe(0);
  }, 30_000);
});

describe('SerialQueue', () => {
  it('runs jobs in order, one at a time, past a job that fails', async () => {
    const queue = new SerialQueue();
    const log: string[] = [];
    const job = (name: string, fail = false) => async (): Promise<string> => {
      log.push(`${name} start`);
      await tick();
      log.push(`${name} end`);
      if (fail) throw new Error(name);
      return name;
    };
    const results = await Promise.allSettled([queue.run(job('a')), queue.run(job('b', true)), queue.run(job('c'))]);
    expect(log).toEqual(['a start', 'a end', 'b start', 'b end', 'c start', 'c end']);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });
});
