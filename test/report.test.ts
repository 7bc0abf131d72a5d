import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CliIO } from '../src/cli/common.js';
import { main } from '../src/cli/main.js';
import { loadKconfig } from '../src/kconfig/load.js';
import { kernelTreeForTests } from '../src/kconfig/oracle.js';
import { PROFILES, profileRequirements } from '../src/minimize/profiles.js';
import { baselineBuildDir, tinyBaselineConfig } from '../src/report/baseline.js';
import { ReportDataSchema, type ReportData } from '../src/report/data.js';
import { ReportError } from '../src/report/errors.js';
import { escapeHtml } from '../src/report/html.js';
import { parseMinimizeOutput } from '../src/report/input.js';
import { groupOptions } from '../src/report/options.js';
import { renderReportHtml } from '../src/report/render.js';
import { attributeSymbols, collectKernelSizes, folderOf, groupSizes, type KernelSizes } from '../src/report/sizes.js';
import { parseNmArchives, parseNmSizes } from '../src/report/symbols.js';
import { layoutTreemap, scaledHeights, TOP_LABEL_HEIGHT } from '../src/report/treemap.js';
import { fixtureMinimizeReport, makeKernelBuildFolder } from './report-fixtures.js';

/** The report's parts: sizes from a real (small) build folder, the treemap layout, the page, the CLI. */

const work = mkdtempSync(join(tmpdir(), 'ukl-report-'));
let folder: string;
let sizes: KernelSizes;

beforeAll(async () => {
  folder = makeKernelBuildFolder(join(work, 'kernel'));
  sizes = await collectKernelSizes(folder);
});

function capture(): { io: CliIO; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l) => out.push(l), err: (l) => err.push(l), info: () => {} }, out, err };
}

const group = (dir: string) => sizes.groups.find((g) => g.dir === dir);

describe('sizes by folder', () => {
  it('reads nm lines: sized symbols by kind, archive members with their object', () => {
    expect(parseNmSizes('ffffffff81000000 0000000000000010 T start\nffffffff81000010 t nosize\nffffffff81000020 0000000000000008 b buf\n0000000000000001 A abs\n')).toEqual([
      { name: 'start', bytes: 16, kind: 'code' },
      { name: 'buf', bytes: 8, kind: 'bss' },
    ]);
    expect(parseNmArchives('\nvmlinux.a:\nvmlinux.a:net/ipv4/tcp.o:0000000000000000 0000000000000020 D tcp_hash\nlib/lib.a:lib/x.o:0000000000000000 0000000000000004 r tbl\n')).toEqual([
      { name: 'tcp_hash', bytes: 32, kind: 'data', object: 'net/ipv4/tcp.o' },
      { name: 'tbl', bytes: 4, kind: 'rodata', object: 'lib/x.o' },
    ]);
  });

  it('folders two levels deep; arch folders keep the arch', () => {
    expect(folderOf('net/ipv4/tcp.o')).toEqual({ top: 'net', dir: 'net/ipv4' });
    expect(folderOf('drivers/tty/serial/8250/8250_core.o')).toEqual({ top: 'drivers', dir: 'drivers/tty' });
    expect(folderOf('kernel/fork.o')).toEqual({ top: 'kernel', dir: 'kernel' });
    expect(folderOf('arch/x86/kernel/setup.o')).toEqual({ top: 'arch/x86', dir: 'arch/x86/kernel' });
    expect(folderOf('vmlinux.export.o')).toEqual({ top: 'other', dir: 'other' });
  });

  it('a name defined in several objects goes to the one whose copy has its size, else to their common folder', () => {
    const objects = [
      { name: 'helper', bytes: 10, kind: 'code' as const, object: 'net/ipv4/a.o' },
      { name: 'helper', bytes: 30, kind: 'code' as const, object: 'fs/proc/b.o' },
      { name: 'twin', bytes: 8, kind: 'code' as const, object: 'net/ipv4/a.o' },
      { name: 'twin', bytes: 8, kind: 'code' as const, object: 'net/core/c.o' },
    ];
    const vmlinux = [
      { name: 'helper', bytes: 30, kind: 'code' as const },
      { name: 'twin', bytes: 8, kind: 'code' as const },
      { name: 'kallsyms_names', bytes: 100, kind: 'rodata' as const },
    ];
    const a = attributeSymbols(vmlinux, objects);
    expect(a.map((x) => [x.folder.dir, x.shared])).toEqual([
      ['fs/proc', false],
      ['net', true],
      ['other', false],
    ]);
    expect(groupSizes(a).map((g) => [g.dir, g.bytes])).toEqual([
      ['other', 100],
      ['fs/proc', 30],
      ['net', 8],
    ]);
  });

  it('a build folder compiled here: exact bytes per folder and kind, the thin lib.a included', () => {
    expect(group('kernel')?.byKind).toMatchObject({ data: 3000, bss: 5000, rodata: 0 });
    expect(group('kernel/sched')?.byKind.rodata).toBe(700);
    expect(group('net/ipv4')?.byKind.data).toBe(9000);
    expect(group('net/core')?.byKind.data).toBe(2500);
    expect(group('arch/x86/kernel')).toMatchObject({ top: 'arch/x86', byKind: { data: 4096 } });
    expect(group('lib')?.byKind.rodata).toBe(1200);
    // the static helper both net folders define: counted once per copy in their common folder
    expect(group('net')?.symbols).toBe(2);
    expect(sizes.sharedBytes).toBe(group('net')?.bytes);
    expect(group('other')).toBeUndefined();
    expect(sizes.symbolBytes).toBe(sizes.groups.reduce((n, g) => n + g.bytes, 0));
    expect(sizes.sections.bss).toBeGreaterThanOrEqual(5000);
    expect(sizes.enabledOptions).toBe(3);
    expect(sizes.bzImageBytes).toBeNull();
    expect(group('net/ipv4')?.largest[0]).toEqual({ name: 'tcp_hash', bytes: 9000 });
  });

  it('a folder without vmlinux is bad input', async () => {
    const empty = join(work, 'empty');
    mkdirSync(empty, { recursive: true });
    await expect(collectKernelSizes(empty)).rejects.toMatchObject({ name: 'ReportError', code: 'bad-input' });
  });
});

describe('treemap layout', () => {
  it('folders inside their subsystem, inside the box, apart, with areas in proportion to bytes', () => {
    const cells = layoutTreemap(sizes.groups, 600, 400);
    const dirs = cells.filter((c) => c.level === 'dir');
    expect(dirs.map((c) => c.dir).sort()).toEqual(sizes.groups.map((g) => g.dir).sort());
    for (const c of cells) {
      expect(c.x).toBeGreaterThanOrEqual(0);
      expect(c.y).toBeGreaterThanOrEqual(0);
      expect(c.x + c.width).toBeLessThanOrEqual(600);
      expect(c.y + c.height).toBeLessThanOrEqual(400);
    }
    for (const d of dirs) {
      const top = cells.find((c) => c.level === 'top' && c.top === d.top);
      if (!top) throw new Error(`no box for ${d.top}`);
      expect(d.y).toBeGreaterThanOrEqual(top.y + TOP_LABEL_HEIGHT);
      expect(d.x + d.width).toBeLessThanOrEqual(top.x + top.width);
    }
    for (const a of dirs) for (const b of dirs) if (a !== b) expect(a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y).toBe(true);
    const ipv4 = dirs.find((c) => c.dir === 'net/ipv4');
    const arch = dirs.find((c) => c.dir === 'arch/x86/kernel');
    if (!ipv4 || !arch) throw new Error('cells missing');
    // padding and rounding take a little: within 35 % of the byte ratio (9024 : 4107)
    expect((ipv4.width * ipv4.height) / (arch.width * arch.height) / (ipv4.bytes / arch.bytes)).toBeGreaterThan(0.65);
    expect((ipv4.width * ipv4.height) / (arch.width * arch.height) / (ipv4.bytes / arch.bytes)).toBeLessThan(1.35);
  });

  it('two maps at one scale: heights in proportion to the totals', () => {
    expect(scaledHeights([1000, 2000], 500)).toEqual([250, 500]);
    expect(scaledHeights([1, 100000], 500)).toEqual([48, 500]);
  });
});

function fixtureData(): ReportData {
  return ReportDataSchema.parse({
    title: 'ukl-trim report: echo <test>',
    generatedAt: '2025-01-01T00:00:00.000Z',
    minimize: fixtureMinimizeReport(),
    trimmed: { label: 'trimmed', sizes },
    baseline: { label: 'baseline', description: 'tinyconfig + boot profile qemu-x86_64', sizes, unmet: ['SERIAL_8250_CONSOLE'] },
    build: { seconds: 190, reused: false },
    boot: { ok: true, markerSeconds: 1.02, echoSeconds: 1.05, echoReply: 'x', consoleTail: ['echo-server: listening on 7777'], accel: 'tcg', command: [] },
  });
}

describe('the page', () => {
  it('options grouped by the cause their chain ends at, each with its chain', () => {
    const groups = groupOptions(fixtureMinimizeReport());
    expect(groups.map((g) => [g.key, g.options.map((o) => o.symbol)])).toEqual([
      ['syscall', ['EPOLL']],
      ['socket-family', ['INET', 'NET']],
      ['profile', ['TTY']],
      ['forced', ['X86_64']],
    ]);
    const net = groups[1]?.options[1];
    expect(net?.chain.map((c) => c.symbol)).toEqual(['NET', 'INET']);
    expect(net?.requirement).toBe(1);
  });

  it('one self-contained page: both maps, every requirement with its witness path, names escaped', () => {
    const page = renderReportHtml(fixtureData());
    expect(page).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(page.match(/<rect class="cell"/g)?.length).toBe(2 * sizes.groups.length);
    expect(page).toContain('id="treemap-trimmed"');
    expect(page).toContain('id="treemap-baseline"');
    expect(page).toContain('<code class="fn">std::vector&lt;int&gt;::push_back</code>');
    expect(page).not.toContain('<int>');
    expect(page).toContain('a warning with &lt;b&gt;markup&lt;/b&gt; in it');
    expect(page).toContain('<title>ukl-trim report: echo &lt;test&gt;</title>');
    expect(page).toContain('the baseline does not satisfy SERIAL_8250_CONSOLE');
    expect(page).toMatch(/<a href="#req-1">socket-family AF_INET<\/a>/);
    expect(page).toMatch(/id="boot-echo">1.05</);
    expect(escapeHtml(`<a href="x">'&`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;');
  });

  it('the minimizer output is read whole or bare; anything else is bad input', () => {
    const report = fixtureMinimizeReport();
    expect(parseMinimizeOutput(JSON.stringify(report), 'r.json')).toMatchObject({ build: null, boot: null });
    expect(() => parseMinimizeOutput('{"report": {}}', 'r.json')).toThrow(ReportError);
    expect(() => parseMinimizeOutput('not json', 'r.json')).toThrow(/r\.json: not JSON/);
  });
});

describe('ukl-trim report', () => {
  it('writes the page against a baseline build folder and prints the subsystems', async () => {
    const json = join(work, 'min.json');
    writeFileSync(json, JSON.stringify({ config: '/x/.config', report: fixtureMinimizeReport(), build: null, boot: null }));
    const out = join(work, 'report.html');
    const { io, out: lines, err } = capture();
    const code = await main(['report', '--minimize-json', json, '--build-dir', folder, '--baseline', folder, '--out', out], io);
    expect(code, err.join('\n')).toBe(0);
    expect(lines[0]).toMatch(/report\.html: [\d,]+ bytes, [\d.]+ s$/);
    expect(lines[1]).toMatch(/^trimmed  25,\d{3} bytes in named symbols: net [\d,]+, kernel 8,737, arch\/x86 4,107, lib 1,211$/);
    expect(lines[2]).toMatch(/\(the kernel built in .*kernel\)$/);
    expect(readFileSync(out, 'utf8')).toContain('id="treemap-baseline"');
  });

  it('bad input: exit 2, one line, no page', async () => {
    const json = join(work, 'bare.json');
    writeFileSync(json, JSON.stringify(fixtureMinimizeReport()));
    const cases: string[][] = [
      ['report', '--minimize-json', json, '--out', join(work, 'a.html')],
      ['report', '--minimize-json', json, '--build-dir', folder, '--baseline', join(work, 'nothing-here'), '--out', join(work, 'b.html')],
      ['report', '--minimize-json', join(work, 'nothing.json'), '--build-dir', folder, '--out', join(work, 'c.html')],
      // no vmlinux: said before any baseline is made (the default one would be built from `source`)
      ['report', '--minimize-json', json, '--build-dir', join(work, 'not-built'), '--out', join(work, 'd.html')],
    ];
    mkdirSync(join(work, 'not-built'), { recursive: true });
    symlinkSync(work, join(work, 'not-built', 'source'));
    const messages: string[] = [];
    for (const args of cases) {
      const { io, err } = capture();
      expect(await main(args, io), args.join(' ')).toBe(2);
      expect(err).toHaveLength(1);
      expect(err[0]).toMatch(/^ukl-trim: /);
      messages.push(err[0] ?? '');
    }
    expect(messages[3]).toMatch(/not-built: no vmlinux/);
    for (const page of ['a', 'b', 'c', 'd']) expect(existsSync(join(work, `${page}.html`))).toBe(false);
  });

  it('the main command refuses --report without --build', async () => {
    const { io, err } = capture();
    expect(await main([join(folder, 'vmlinux'), '--report', join(work, 'e.html')], io)).toBe(2);
    expect(err[0]).toMatch(/--report needs --build/);
  });
});

const tree = kernelTreeForTests();
describe.skipIf(tree === null && process.env.CI !== 'true')('the default baseline on the 6.1 tree', () => {
  it('tinyconfig + the boot profile: every profile item holds, one cache folder per config', () => {
    if (!tree) throw new Error('no kernel tree (UKL_TRIM_KERNEL)');
    const profile = PROFILES['qemu-x86_64'];
    if (!profile) throw new Error('no qemu-x86_64 profile');
    const expressions = profileRequirements(profile, { network: true }).map((r) => r.expression);
    const { config, unmet } = tinyBaselineConfig(loadKconfig({ tree, arch: 'x86_64' }), expressions);
    expect(unmet).toEqual([]);
    for (const s of ['VIRTIO_NET', 'INET', 'NET', 'SERIAL_8250_CONSOLE', 'BINFMT_ELF', 'CC_OPTIMIZE_FOR_SIZE']) expect(config).toMatch(new RegExp(`^CONFIG_${s}=y$`, 'm'));
    // what tinyconfig leaves out and the profile does not ask for stays out
    expect(config).toMatch(/^# CONFIG_EPOLL is not set$/m);
    expect(baselineBuildDir(tree, 'x86_64', config, '/c')).toMatch(/^\/c\/report-baselines\/[0-9a-f]{16}$/);
    expect(baselineBuildDir(tree, 'x86_64', `${config}\n`, '/c')).not.toBe(baselineBuildDir(tree, 'x86_64', config, '/c'));
  }, 120_000);
});
