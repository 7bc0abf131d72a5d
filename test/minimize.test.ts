import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnalysisReport } from '../src/callgraph/analyze.js';
import { loadKconfig, tinyconfig, type LoadedKconfig } from '../src/kconfig/load.js';
import { kernelTreeForTests } from '../src/kconfig/oracle.js';
import type { SyscallMap } from '../src/kernel/syscalls.js';
import { MinimizeError, minimizeConfig } from '../src/minimize/minimize.js';
import { readModelSnapshot, writeModelSnapshot } from '../src/minimize/model-cache.js';
import { KconfigModel } from '../src/minimize/model.js';
import { buildObjective } from '../src/minimize/objective.js';
import { propagate, reducedModel } from '../src/minimize/reduce.js';
import { RowStore } from '../src/minimize/rows.js';
import { MinimizeSession } from '../src/minimize/session.js';
import { WarmStarts } from '../src/minimize/warm-starts.js';
import { requirementsFromAnalysis, type Requirement } from '../src/minimize/requirements.js';
import { deriveCodeWeights } from '../src/minimize/weights.js';

/**
 * The minimizer on a small tree written here (Kconfig, Kbuild Makefiles, sources of known
 * sizes), where the true optimum can be found by brute force with the exact engine, and the
 * encoding checked against the engine on the real 6.1 tree.
 */

const KCONFIG = `mainmenu "Minimize test"
config MODULES
	bool "modules"
	modules
config EXPERT
	bool "expert"
config PRINTK
	bool "printk" if EXPERT
	default y
config BIG_DEFAULT
	bool "big default" if EXPERT
	default y
config NET
	bool "net"
	select NET_CORE_HELPERS
config NET_CORE_HELPERS
	bool
config INET
	bool "inet"
	depends on NET
config IPV6
	bool "ipv6"
	depends on INET
	default y
config EPOLL
	bool "epoll" if EXPERT
	default y
config VIRTIO
	bool
config VIRTIO_PCI
	bool "virtio pci"
	depends on PCI
	select VIRTIO
config PCI
	bool "pci"
config VIRTIO_NET
	bool "virtio net"
	depends on VIRTIO && NET
config HIDDEN_HELPER
	bool
	default y if VIRTIO_NET
config DRIVER_T
	tristate "a tristate driver"
	imply INET
choice
	prompt "allocator"
	default ALLOC_BIG
config ALLOC_BIG
	bool "big allocator"
config ALLOC_SMALL
	bool "small allocator"
	depends on EXPERT
endchoice
choice
	prompt "tick"
	default TICK_FAST if PCI
	default TICK_SLOW
config TICK_FAST
	bool "fast tick"
config TICK_SLOW
	bool "slow tick"
endchoice
config NR_THINGS
	int "things"
	default 4
config NEEDS_MANY
	bool "needs many things"
	depends on NR_THINGS > 2
`;

const FILES: Record<string, number> = {
  'kernel/printk.c': 3000,
  'kernel/big.c': 20000,
  'kernel/alloc_big.c': 8000,
  'kernel/alloc_small.c': 1000,
  'net/core.c': 5000,
  'net/helpers.c': 700,
  'net/ipv4.c': 6000,
  'net/ipv6.c': 9000,
  'fs/eventpoll.c': 2500,
  'drivers/virtio.c': 1500,
  'drivers/virtio_pci.c': 1200,
  'drivers/virtio_net.c': 2200,
  'drivers/pci.c': 4000,
  'drivers/helper.c': 300,
  'drivers/t.c': 900,
};

function writeTree(): string {
  const root = mkdtempSync(join(tmpdir(), 'ukl-minimize-tree-'));
  const put = (rel: string, text: string): void => {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
  };
  put('Makefile', 'VERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 0\nEXTRAVERSION = -min\n');
  put('Kconfig', `${KCONFIG}source "arch/x86/Kconfig"\n`);
  put('arch/x86/Kconfig', 'config X86\n\tdef_bool y\n');
  put('Kbuild', 'obj-y += kernel/ fs/ drivers/\nobj-$(CONFIG_NET) += net/\n');
  put('kernel/Makefile', 'obj-$(CONFIG_PRINTK) += printk.o\nobj-$(CONFIG_BIG_DEFAULT) += big.o\nobj-$(CONFIG_ALLOC_BIG) += alloc_big.o\nobj-$(CONFIG_ALLOC_SMALL) += alloc_small.o\n');
  put('net/Makefile', 'obj-y += core.o\nobj-$(CONFIG_NET_CORE_HELPERS) += helpers.o\nobj-$(CONFIG_INET) += ipv4.o\nobj-$(CONFIG_IPV6) += ipv6.o\n');
  put('fs/Makefile', 'obj-$(CONFIG_EPOLL) += eventpoll.o\n');
  put('drivers/Makefile', 'obj-$(CONFIG_VIRTIO) += virtio.o\nobj-$(CONFIG_VIRTIO_PCI) += virtio_pci.o\nobj-$(CONFIG_VIRTIO_NET) += virtio_net.o\nobj-$(CONFIG_PCI) += pci.o\nobj-$(CONFIG_HIDDEN_HELPER) += helper.o\nobj-$(CONFIG_DRIVER_T) += t.o\n');
  for (const [rel, size] of Object.entries(FILES)) put(rel, `/* ${'x'.repeat(size - 6)} */`);
  return root;
}

let tree = '';
let loaded: LoadedKconfig;

beforeAll(() => {
  tree = writeTree();
  loaded = loadKconfig({ tree, arch: 'x86_64' });
});

const req = (expression: string, detail = expression): Requirement => ({ expression, kind: 'profile', detail });

/**
 * What the minimizer minimises, computed from the engine's state, as one number: code, then the
 * option count, then the choices that do not pick their default member (fewer than 100 here)
 */
function costOfConfig(config: string): { cost: number; enabled: number } {
  const kc = loaded.kconfig;
  const weights = deriveCodeWeights(tree, 'x86_64', kc, { cache: false });
  kc.olddefconfig(config);
  let code = 0;
  for (const g of weights.groups) if (kc.evaluate(g.condition) !== 0) code += Math.ceil(g.bytes / 64);
  const enabled = [...kc.write().matchAll(/^CONFIG_\w+=y$/gm)].length;
  const awayFromDefault = [...kc.syms.all()].filter((c) => c.isChoice && c.menus.length > 0 && c.choiceMembers.some((m) => isOn(m) && m !== kc.ev.choiceDefault(c))).length;
  return { cost: (code * 1000 + enabled) * 100 + awayFromDefault, enabled };
}

function isOn(s: { name: string | null }): boolean {
  return s.name !== null && loaded.kconfig.evaluate(s.name) === 2;
}

/** models and optima of the small tree in a cache folder of their own, not this machine's */
function isolatedCache(): void {
  const saved = process.env.XDG_CACHE_HOME;
  beforeAll(() => {
    process.env.XDG_CACHE_HOME = mkdtempSync(join(tmpdir(), 'ukl-minimize-cache-'));
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = saved;
  });
}

/**
 * The least cost over every combination of user values of the visible bools, through the engine.
 * The tick choice is left to its default: its members cost alike, so another member only adds
 * one choice away from its default.
 */
function bruteForceBest(reqs: readonly Requirement[]): number {
  const kc = loaded.kconfig;
  const names = ['EXPERT', 'PRINTK', 'BIG_DEFAULT', 'NET', 'INET', 'IPV6', 'EPOLL', 'VIRTIO_PCI', 'PCI', 'VIRTIO_NET', 'DRIVER_T', 'ALLOC_SMALL', 'NEEDS_MANY'];
  let best = Infinity;
  for (let mask = 0; mask < 1 << names.length; mask++) {
    const text = `# CONFIG_MODULES is not set\n${names.map((n, i) => (mask & (1 << i) ? `CONFIG_${n}=y` : `# CONFIG_${n} is not set`)).join('\n')}\n`;
    const cfg = kc.olddefconfig(text);
    if (!reqs.every((q) => kc.evaluate(q.expression) !== 0)) continue;
    best = Math.min(best, costOfConfig(cfg).cost);
  }
  return best;
}

describe('minimizeConfig on a small tree (exact optimum by brute force)', () => {
  isolatedCache();

  it('code weights follow the Kbuild files', () => {
    const w = deriveCodeWeights(tree, 'x86_64', loaded.kconfig, { cache: false });
    const byCond = Object.fromEntries(w.groups.map((g) => [g.condition, g.bytes]));
    expect(byCond['NET && INET']).toBe(6000);
    expect(byCond.BIG_DEFAULT).toBe(20000);
    expect(w.unconditionalBytes).toBe(0);
  });

  const cases: Array<{ name: string; reqs: Requirement[] }> = [
    { name: 'virtio-net guest with epoll', reqs: [req('VIRTIO_NET'), req('VIRTIO_PCI'), req('INET'), req('EPOLL')] },
    { name: 'nothing required', reqs: [] },
    { name: 'printk only', reqs: [req('PRINTK')] },
    { name: 'an expression', reqs: [req('INET || DRIVER_T'), req('!IPV6')] },
  ];
  for (const c of cases) {
    it(`${c.name}: the optimum equals brute force over every user choice`, async () => {
      const r = await minimizeConfig({ loaded, requirements: c.reqs, profile: null });
      expect(r.report.check.requirementsHold).toBe(true);
      expect(r.report.check.stable).toBe(true);
      expect(r.report.check.modelMismatches).toEqual([]);
      expect(costOfConfig(r.config).cost).toBe(bruteForceBest(c.reqs));
    });
  }

  it('turns EXPERT on to drop hidden defaults, and says why each option is on', async () => {
    const r = await minimizeConfig({ loaded, requirements: [req('VIRTIO_NET', 'the NIC'), req('VIRTIO_PCI', 'the bus')], profile: null });
    expect(r.config).toMatch(/^CONFIG_EXPERT=y$/m);
    expect(r.config).toMatch(/^# CONFIG_BIG_DEFAULT is not set$/m);
    expect(r.config).toMatch(/^CONFIG_ALLOC_SMALL=y$/m);
    expect(r.config).not.toMatch(/^CONFIG_(INET|IPV6)=y$/m);
    const reasons = Object.fromEntries(r.report.options.map((o) => [o.symbol, o.reason]));
    expect(reasons.VIRTIO_NET?.kind).toBe('required');
    // VIRTIO_NET depends on VIRTIO and VIRTIO_PCI selects it: the first step of the walk wins
    expect(reasons.VIRTIO).toMatchObject({ kind: 'needed-by', by: 'VIRTIO_NET' });
    expect(reasons.NET?.kind).toBe('needed-by');
    expect(reasons.NET_CORE_HELPERS).toMatchObject({ kind: 'selected-by', by: 'NET' });
    expect(reasons.HIDDEN_HELPER).toMatchObject({ kind: 'default-of', by: 'VIRTIO_NET' });
    expect(reasons.EXPERT?.kind).toBe('optimizer');
    expect(reasons.ALLOC_SMALL?.kind).toBe('choice');
    // a tie between members: the choice keeps its default, here the one PCI being on makes it
    expect(r.config).toMatch(/^CONFIG_TICK_FAST=y$/m);
    expect(reasons.TICK_FAST?.text).toMatch(/^the default of the choice "tick"/);
    expect(reasons.ALLOC_SMALL?.text).toMatch(/its default, ALLOC_BIG, costs more/);
    expect(r.explain('NET_CORE_HELPERS')).toEqual(['NET_CORE_HELPERS: selected by NET', '  NET: VIRTIO_NET depends on it', '    VIRTIO_NET: required by boot profile (the NIC)']);
    expect(r.explain('IPV6')[0]).toMatch(/off/);
    // the fragment expands back to the whole config
    expect(loaded.kconfig.olddefconfig(r.fragment)).toBe(r.config);
  });

  it('an --enable that needs a --disabled option: a conflict naming the chain', async () => {
    const err = await minimizeConfig({ loaded, profile: null, enable: ['VIRTIO_NET'], disable: ['NET'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MinimizeError);
    expect((err as MinimizeError).code).toBe('conflict');
    expect((err as MinimizeError).message).toContain('--enable VIRTIO_NET');
    expect((err as MinimizeError).message).toContain('--disable NET');
    expect((err as MinimizeError).chain).toContain('VIRTIO_NET depends on NET');
  });

  it('a select chain conflict is named too', async () => {
    const err = (await minimizeConfig({ loaded, profile: null, enable: ['VIRTIO_PCI'], disable: ['VIRTIO'] }).catch((e: unknown) => e)) as MinimizeError;
    expect(err.code).toBe('conflict');
    expect(err.chain).toContain('VIRTIO_PCI selects VIRTIO');
  });

  it('unknown symbols, non-bool options and impossible requirements are errors', async () => {
    await expect(minimizeConfig({ loaded, profile: null, enable: ['NO_SUCH_THING'] })).rejects.toMatchObject({ code: 'unknown-symbol' });
    await expect(minimizeConfig({ loaded, profile: null, enable: ['NR_THINGS'] })).rejects.toMatchObject({ code: 'bad-input' });
    await expect(minimizeConfig({ loaded, profile: null, requirements: [req('NET && !NET')] })).rejects.toMatchObject({ code: 'unsatisfiable' });
    await expect(minimizeConfig({ loaded, profile: null, requirements: [req('OTHER_ARCH_ONLY')] })).rejects.toThrow(/OTHER_ARCH_ONLY does not exist/);
    await expect(minimizeConfig({ loaded, profile: 'no-such-profile' })).rejects.toMatchObject({ code: 'bad-input' });
  });

  it('with nothing required, a choice whose members cost alike keeps its default', async () => {
    const r = await minimizeConfig({ loaded, requirements: [], profile: null });
    expect(r.config).toMatch(/^CONFIG_TICK_SLOW=y$/m);
  });

  it('comparisons with int symbols are taken at their values', async () => {
    const r = await minimizeConfig({ loaded, profile: null, requirements: [req('NEEDS_MANY')] });
    expect(r.config).toMatch(/^CONFIG_NEEDS_MANY=y$/m);
  });
});

describe('re-trimming: the base model kept, the solver started from an earlier optimum', () => {
  isolatedCache();
  const freshSession = (): MinimizeSession => new MinimizeSession({ optima: new WarmStarts(mkdtempSync(join(tmpdir(), 'ukl-optima-'))) });

  it('the same requirements again: the earlier optimum without a solve, the same answer and model size', async () => {
    const session = freshSession();
    await session.prepare(loaded, tree, 'x86_64');
    const base = session.base(loaded, tree, 'x86_64');
    const reqs = [req('VIRTIO_NET'), req('VIRTIO_PCI'), req('EPOLL')];
    const first = await minimizeConfig({ loaded, requirements: reqs, profile: null, session });
    const again = await minimizeConfig({ loaded, requirements: reqs, profile: null, session });
    expect(first.report.solver.start).toBe('none');
    expect(again.report.solver.start).toBe('same-requirements');
    expect(again.config).toBe(first.config);
    expect(again.report.solver.objective).toBe(first.report.solver.objective);
    // what the first run added for its requirements was taken back before the second
    expect(again.report.solver.variables).toBe(first.report.solver.variables);
    expect(again.report.solver.constraints).toBe(first.report.solver.constraints);
    // the one-minimal pass over the same fragment under the same requirements: its outcome is taken
    expect(first.report.check.oneMinimal.remembered).toBeUndefined();
    expect(again.report.check.oneMinimal).toEqual({ ...first.report.check.oneMinimal, remembered: true });
    // one base model for the parsed tree, made ready before the first run
    expect(session.base(loaded, tree, 'x86_64')).toBe(base);
  });

  it('changed requirements: started from the closest earlier optimum (as it is, or repaired), and still the exact optimum', async () => {
    const session = freshSession();
    const steps: Requirement[][] = [
      [req('PRINTK')],
      [req('PRINTK'), req('VIRTIO_NET'), req('VIRTIO_PCI')],
      [req('PRINTK'), req('VIRTIO_NET')],
      [req('INET || DRIVER_T'), req('!IPV6')],
    ];
    const starts: string[] = [];
    for (const reqs of steps) {
      const r = await minimizeConfig({ loaded, requirements: reqs, profile: null, session });
      starts.push(r.report.solver.start ?? '');
      expect(r.report.check.modelMismatches).toEqual([]);
      expect(costOfConfig(r.config).cost).toBe(bruteForceBest(reqs));
    }
    // the NIC's options turned on in the PRINTK-only optimum; then an optimum that already has them
    expect(starts).toEqual(['none', 'repaired', 'previous', expect.stringMatching(/^(previous|repaired)$/)]);
  });

  it('a hidden option required: the repair turns on what turns it on (its default\'s condition, and what that depends on)', async () => {
    const session = freshSession();
    const starts: string[] = [];
    for (const reqs of [[req('PRINTK')], [req('HIDDEN_HELPER')]]) {
      const r = await minimizeConfig({ loaded, requirements: reqs, profile: null, session });
      starts.push(r.report.solver.start ?? '');
      expect(costOfConfig(r.config).cost).toBe(bruteForceBest(reqs));
    }
    expect(starts).toEqual(['none', 'repaired']);
  });

  it('two runs at once on one tree: each waits for the engine and gets its own optimum', async () => {
    const session = freshSession();
    // expressions that each add a gate of their own to the shared model
    const a = [req('VIRTIO_NET && !IPV6'), req('VIRTIO_PCI')];
    const b = [req('INET || DRIVER_T'), req('!IPV6'), req('EPOLL')];
    const [ra, rb] = await Promise.all([minimizeConfig({ loaded, requirements: a, profile: null, session }), minimizeConfig({ loaded, requirements: b, profile: null, session })]);
    expect([ra.report.check.requirementsHold, rb.report.check.requirementsHold]).toEqual([true, true]);
    expect(costOfConfig(ra.config).cost).toBe(bruteForceBest(a));
    expect(costOfConfig(rb.config).cost).toBe(bruteForceBest(b));
  });

  it('earlier optima are kept on disk, newest first, and read back bit for bit', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ukl-optima-'));
    const values = Uint8Array.from({ length: 37 }, (_, i) => (i * 7) % 3 === 0 ? 1 : 0);
    new WarmStarts(dir).remember('k-1', { requirements: ['A', 'B'], objective: 42, values });
    new WarmStarts(dir).remember('k-1', { requirements: ['A', 'C'], objective: 43, values: new Uint8Array(37) });
    const back = new WarmStarts(dir);
    expect(back.best('k-1', ['A', 'B'])).toEqual({ optimum: { requirements: ['A', 'B'], objective: 42, values }, same: true });
    expect(back.best('k-1', ['A', 'C', 'D'])?.optimum.objective).toBe(43);
    expect(back.best('k-2', ['A'])).toBeNull();
  });

  it('a base model read back from its file is the model encoded; a file of another tree or a broken one is refused', () => {
    const kc = loaded.kconfig;
    const model = new KconfigModel(kc, new Map());
    const objective = buildObjective(kc, model, deriveCodeWeights(tree, 'x86_64', kc, { cache: false }));
    const file = join(mkdtempSync(join(tmpdir(), 'ukl-model-')), 'base.model');
    writeModelSnapshot(file, model, objective);
    const back = readModelSnapshot(file, kc);
    if (!back) throw new Error('the snapshot was not read back');
    expect(back.model.constraints).toEqual(model.constraints);
    expect(back.model.variableCount).toBe(model.variableCount);
    expect([...back.model.fixed]).toEqual([...model.fixed]);
    expect([...back.objective.costs]).toEqual([...objective.costs]);
    expect(back.objective.groupLits).toEqual(objective.groupLits);
    // a new expression gets the same literal and the same new rows in both
    const e = 'VIRTIO_NET && !IPV6 || DRIVER_T && NET';
    expect(back.model.exprLit(kc.parseExpression(e))).toBe(model.exprLit(kc.parseExpression(e)));
    expect(back.model.constraints).toEqual(model.constraints);
    const other = mkdtempSync(join(tmpdir(), 'ukl-other-tree-'));
    writeFileSync(join(other, 'Makefile'), 'VERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 0\n');
    writeFileSync(join(other, 'Kconfig'), 'config MODULES\n\tbool "modules"\n\tmodules\nconfig ONLY_HERE\n\tbool "only here"\nconfig ALSO_HERE\n\tbool "also here"\nsource "arch/x86/Kconfig"\n');
    mkdirSync(join(other, 'arch', 'x86'), { recursive: true });
    writeFileSync(join(other, 'arch', 'x86', 'Kconfig'), 'config X86\n\tdef_bool y\n');
    expect(readModelSnapshot(file, loadKconfig({ tree: other, arch: 'x86_64' }).kconfig)).toBeNull();
    writeFileSync(file, 'UKLMDL01 and then nothing that parses');
    expect(readModelSnapshot(file, kc)).toBeNull();
  });

  it('rollback takes back the gates and rows an expression added', () => {
    const kc = loaded.kconfig;
    const model = new KconfigModel(kc, new Map());
    const cp = model.checkpoint();
    const rows = model.constraints;
    const e = 'VIRTIO_NET && !IPV6 && DRIVER_T';
    const lit = model.exprLit(kc.parseExpression(e));
    expect(model.variableCount).toBeGreaterThan(cp.nextVar - 2);
    model.rollback(cp);
    expect(model.variableCount).toBe(cp.nextVar - 2);
    expect(model.constraints).toEqual(rows);
    // encoded again, the expression takes the same numbers
    expect(model.exprLit(kc.parseExpression(e))).toBe(lit);
  });

  it('propagation: rows force values, a cutoff on the objective fixes what would cost too much, contradictions are found', () => {
    const store = new RowStore();
    store.push([[1, 2], [1, 3]], '>=', 1, 'x2 or x3');
    store.push([[1, 3]], '<=', 0, 'not x3');
    store.push([[1, 4], [1, 5], [1, 6]], '>=', 1, 'x4 or x5 or x6');
    const rows = store.withRows(7);
    const costs = new Map([[4, 10], [5, 3], [6, 4]]);
    const b = propagate(rows, costs, 5);
    if (!b) throw new Error('feasible rows were refused');
    const range = (v: number): [number, number] => [b.lo[v] as number, b.hi[v] as number];
    expect([range(2), range(3), range(4), range(5), range(6)]).toEqual([[1, 1], [0, 0], [0, 0], [0, 1], [0, 1]]);
    // without the cutoff x4 stays free
    expect(propagate(rows, costs)?.hi[4]).toBe(1);
    // what is left for the solver: x5 and x6, one row, and x2's cost (none here) in the constant
    const reduced = reducedModel(rows, b, costs);
    expect([...reduced.varOf]).toEqual([5, 6]);
    expect(reduced.data.numRows).toBe(1);
    expect([...reduced.data.colCost]).toEqual([3, 4]);
    expect(propagate(store.withRows(7, [{ terms: [[1, 2]], op: '<=', rhs: 0, origin: 'not x2' }]), new Map())).toBeNull();
    // a cutoff below the cheapest completion
    expect(propagate(rows, new Map([[2, 10]]), 5)).toBeNull();
  });
});

describe('requirements from an analysis', () => {
  const map: SyscallMap = {
    arch: 'x86_64',
    kernelVersion: '6.1.0',
    diagnostics: [],
    syscalls: [
      { nr: 0, name: 'read', entry: '__x64_sys_read', condition: null, sites: [] },
      { nr: 232, name: 'epoll_wait', entry: '__x64_sys_epoll_wait', condition: 'EPOLL', sites: [] },
      { nr: 222, name: 'timer_create', entry: '__x64_sys_timer_create', condition: null, stubCondition: '!POSIX_TIMERS', sites: [] },
      { nr: 134, name: 'uselib', entry: null, condition: 'n', sites: [] },
      { nr: 175, name: 'init_module', entry: '__x64_sys_init_module', condition: 'MODULES', sites: [] },
      { nr: 176, name: 'delete_module', entry: '__x64_sys_delete_module', condition: 'MODULES && MODULE_UNLOAD', sites: [] },
    ],
  };
  const analysis = (syscalls: Array<[number, string]>, extra: Partial<AnalysisReport> = {}): AnalysisReport => ({
    input: 'app',
    roots: ['_start'],
    syscalls: syscalls.map(([nr, name]) => ({ nr, name, path: ['main', name] })),
    unresolved: [],
    socketFamilies: [],
    socketFamilyPaths: {},
    unknownSocketFamilies: [],
    pseudoFiles: [],
    sharedObjects: [],
    tlsBytes: 0,
    stats: { functions: 1, reachableFunctions: 1, addressTaken: 0, indirectReachable: false },
    ...extra,
  });

  it('syscalls, stubs, socket families and pseudo-files become expressions with their witness', () => {
    const warnings: string[] = [];
    const reqs = requirementsFromAnalysis(
      analysis([[0, 'read'], [232, 'epoll_wait'], [222, 'timer_create']], {
        socketFamilies: ['AF_INET', 'AF_UNIX', 'AF_MADEUP'],
        pseudoFiles: ['/proc/self/maps', '/proc/sys/kernel/ngroups_max', '/sys/devices/system/cpu/online', '/dev/null', '/etc/passwd'],
        unresolved: [{ function: 'f', address: 0x1234, reason: 'r9 clobbered' }],
      }),
      map,
      { warnings },
    );
    const by = (k: string): string[] => reqs.filter((r) => r.kind === k).map((r) => r.expression);
    expect(by('syscall')).toEqual(['EPOLL', '(y) && !(!POSIX_TIMERS)']);
    expect(reqs.find((r) => r.detail === 'epoll_wait')?.path).toEqual(['main', 'epoll_wait']);
    expect(by('socket-family')).toEqual(['INET', 'UNIX']);
    expect(by('pseudo-file')).toEqual(['PROC_FS', 'PROC_SYSCTL', 'SYSFS', 'DEVTMPFS']);
    expect(warnings.join('\n')).toMatch(/AF_MADEUP/);
    expect(warnings.join('\n')).toMatch(/0x1234 may be any syscall/);
  });

  it('a syscall only loadable modules provide is a warning with its path, not a requirement', () => {
    const warnings: string[] = [];
    const moduleSyscalls: Array<{ name: string; path: string[] }> = [];
    const reqs = requirementsFromAnalysis(analysis([[0, 'read'], [175, 'init_module'], [176, 'delete_module'], [232, 'epoll_wait']]), map, { warnings, moduleSyscalls });
    expect(reqs.map((r) => r.detail)).toEqual(['epoll_wait']);
    expect(moduleSyscalls).toEqual([{ name: 'init_module', path: ['main', 'init_module'] }, { name: 'delete_module', path: ['main', 'delete_module'] }]);
    expect(warnings).toContain('syscall init_module (reached by main → init_module) needs MODULES, and kernels made by ukl-trim load no modules (everything is built in): the app gets ENOSYS there');
  });

  it('a syscall the tree does not have is a warning naming the path (ENOSYS on any kernel of the tree), not a requirement', () => {
    const warnings: string[] = [];
    const reqs = requirementsFromAnalysis(analysis([[999, 'future_call'], [232, 'epoll_wait']]), map, { warnings });
    expect(reqs.map((r) => r.detail)).toEqual(['epoll_wait']);
    expect(warnings).toEqual([expect.stringMatching(/^syscall future_call \(999, reached by main → future_call\) is not in x86_64 .*: the app gets ENOSYS there/)]);
  });
});

const realTree = kernelTreeForTests();
describe.skipIf(!realTree && process.env.CI !== 'true')('the encoding against the engine on the 6.1 tree (x86_64)', () => {
  it('configurations conf produces violate no row of the model', () => {
    if (!realTree) throw new Error('no kernel tree (UKL_TRIM_KERNEL)');
    const real = loadKconfig({ tree: realTree, arch: 'x86_64' });
    const kc = real.kconfig;
    kc.allconfig('allnoconfig');
    const model = new KconfigModel(kc, new Map());
    expect(model.variableCount).toBeGreaterThan(10000);
    const configs: Array<[string, string]> = [
      ['allnoconfig', kc.allconfig('allnoconfig')],
      ['tinyconfig', kc.olddefconfig(tinyconfig(real))],
    ];
    // random configurations without modules: random user values for every visible bool
    let seed = 12345;
    const rand = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const bools = kc.definedSymbols().filter((s) => s.type === 'bool' || s.type === 'tristate');
    for (let i = 0; i < 6; i++) {
      const p = [0.05, 0.2, 0.5, 0.8, 0.95, 0.5][i] as number;
      const text = `# CONFIG_MODULES is not set\n${bools.map((s) => (s.name === 'MODULES' ? '' : rand() < p ? `CONFIG_${s.name}=y\n` : `# CONFIG_${s.name} is not set\n`)).join('')}`;
      configs.push([`random p=${p}`, kc.olddefconfig(text)]);
    }
    for (const [name, cfg] of configs) {
      kc.load(cfg);
      const { violated } = model.checkEngineState();
      expect(violated.map((v) => v.origin), name).toEqual([]);
      for (const [s, v] of model.fixed) {
        kc.ev.calcValue(s);
        expect(s.currTri !== 0 ? 1 : 0, `${name}: ${s.name} fixed at ${v}`).toBe(v);
      }
    }
  }, 240_000);
});
