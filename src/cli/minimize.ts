import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { checkUklAppInputs } from '../build/image.js';
import { bootKernel, BootReportSchema } from '../build/qemu.js';
import { detectUklSupport, runUklBuildHint } from '../kernel/ukl-support.js';
import { minimizeConfig } from '../minimize/minimize.js';
import { profileNames } from '../minimize/profiles.js';
import { writeFileAtomic } from '../util/fs.js';
import { ccacheNote, imageForCli } from './build.js';
import { checkLibcOption, progressOf, resolveKernelForCli, UsageError, type CliIO } from './common.js';
import { baselineChoiceOf, reportForCli } from './report.js';

export const MINIMIZE_USAGE = `usage: ukl-trim APP... [--kernel DIR|TARBALL [--patch FILE]...] [--arch x86_64] [--libc glibc|musl|musl-ukl|none|PATH]
                [--mode initramfs|ukl] [--profile ${profileNames().join('|')}|none]
                [--enable SYM]... [--disable SYM]... [-o FILE] [--fragment FILE] [--explain SYM]...
                [--build OUT [--boot [--expect REGEX] [--tcp-echo PORT] [--timeout S]] [--app-arg ARG]... [--distcc HOST]...]
                [--report FILE.html [--report-baseline DIR|CONFIG|none]]
                [--assume-syscall NAME]... [--strict] [--no-check] [--json]
  the smallest kernel .config that provides every syscall, socket family and pseudo-file the app
  can reach, plus what booting it needs (the profile), each option with its reason.
  APP: a static executable, or objects / LTO objects / bitcode / archives linked with --libc.
  --mode ukl: APP is the app's C/assembler sources, objects and archives (made into UKL.a with
  UKL's flags and --libc: musl-ukl for musl built for UKL, 'none' for a libc-free app) or a
  ready UKL.a; --boot then needs
  --tcp-echo or --expect, which the app itself must answer.
  -o FILE (default .config; an existing one is kept as FILE.old), --fragment FILE: the minimal
  form (savedefconfig). --build OUT builds the kernel and initramfs like 'ukl-trim build';
  --boot then boots them under QEMU like 'ukl-trim boot'. --no-check skips the 1-minimality pass.
  --report FILE.html (with --build) writes the page 'ukl-trim report' writes, against
  --report-baseline (default: tinyconfig + the boot profile, built once and cached).
  --distcc HOST (repeatable; distcc host specs, default $DISTCC_HOSTS): compile on a distcc farm,
  ccache in front.
  Places the analysis cannot resolve (a syscall number or socket family it cannot compute) are
  listed; --assume-syscall NAME requires a syscall as if reached, --strict refuses (exit 2, nothing
  written) while any place is unresolved.`;

/** UKL's init line just before it execs the trigger (src/build/init/init.c) */
const UKL_BOOTED = /^UKL BOOTED$/;

export async function runMinimize(argv: string[], io: CliIO): Promise<number> {
  return minimizeCommand(argv, io);
}

async function minimizeCommand(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      kernel: { type: 'string' },
      patch: { type: 'string', multiple: true },
      arch: { type: 'string', default: 'x86_64' },
      libc: { type: 'string' },
      mode: { type: 'string', default: 'initramfs' },
      profile: { type: 'string' },
      enable: { type: 'string', multiple: true },
      disable: { type: 'string', multiple: true },
      output: { type: 'string', short: 'o', default: '.config' },
      fragment: { type: 'string' },
      explain: { type: 'string', multiple: true },
      build: { type: 'string' },
      boot: { type: 'boolean' },
      expect: { type: 'string' },
      'tcp-echo': { type: 'string' },
      timeout: { type: 'string' },
      'app-arg': { type: 'string', multiple: true },
      'no-check': { type: 'boolean' },
      'assume-syscall': { type: 'string', multiple: true },
      distcc: { type: 'string', multiple: true },
      report: { type: 'string' },
      'report-baseline': { type: 'string' },
      strict: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    io.out(MINIMIZE_USAGE);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError(`no APP given; see 'ukl-trim minimize --help'`);
  for (const p of positionals) if (!existsSync(p)) throw new UsageError(`${p}: no such file`);
  const mode = values.mode;
  if (mode !== 'initramfs' && mode !== 'ukl') throw new UsageError(`--mode ${mode}: expected initramfs or ukl`);
  const libc = values.libc;
  checkLibcOption(libc, { ukl: mode === 'ukl' });
  if (values.boot && !values.build) throw new UsageError('--boot needs --build OUT');
  if (values.report && !values.build) throw new UsageError('--report needs --build OUT: the page maps the built kernel');
  if (values['report-baseline'] !== undefined && !values.report) throw new UsageError('--report-baseline needs --report FILE.html');
  const reportBaseline = values.report ? baselineChoiceOf(values['report-baseline'], '--report-baseline') : undefined;
  if (mode === 'ukl' && values.boot && values['tcp-echo'] === undefined && values.expect === undefined) {
    // the init's own lines come before the kernel enters the app: they prove nothing about it
    throw new UsageError("--boot in UKL mode needs --tcp-echo PORT or --expect REGEX: what the app itself does once the kernel enters it");
  }
  const tcpEcho = values['tcp-echo'] === undefined ? undefined : Number(values['tcp-echo']);
  if (tcpEcho !== undefined && !(Number.isInteger(tcpEcho) && tcpEcho > 0 && tcpEcho < 65536)) throw new UsageError(`--tcp-echo ${values['tcp-echo']}: expected a port number`);
  const timeout = values.timeout === undefined ? 240 : Number(values.timeout);
  if (!(timeout > 0)) throw new UsageError(`--timeout ${values.timeout}: expected seconds > 0`);
  let expect: RegExp | undefined;
  if (values.expect !== undefined) {
    try {
      expect = new RegExp(values.expect);
    } catch (e) {
      throw new UsageError(`--expect: ${(e as Error).message}`);
    }
  }

  const tree = await resolveKernelForCli(values.kernel, io, values.patch ?? []);
  if (mode === 'ukl') {
    // before the analysis: the tree must know UKL, and UKL.a cannot be built from a linked program
    if (!detectUklSupport(tree).supported) throw new UsageError(runUklBuildHint(tree));
    checkUklAppInputs(positionals);
  }
  const result = await minimizeConfig({
    kernel: tree,
    arch: values.arch,
    app: positionals,
    ...(libc ? { libc } : {}),
    mode,
    profile: values.profile === 'none' ? null : (values.profile ?? (values.arch === 'x86_64' || values.arch === 'x86' ? 'qemu-x86_64' : null)),
    enable: values.enable ?? [],
    disable: values.disable ?? [],
    oneMinimal: !values['no-check'],
    assumeSyscalls: values['assume-syscall'] ?? [],
    ...(values.strict ? { strict: true } : {}),
    onProgress: (m) => progressOf(io).begin(m),
  });
  progressOf(io).end();
  const out = resolve(values.output);
  const hadOld = existsSync(out);
  const written = writeFileAtomic(out, result.config, { keepOld: true });
  if (values.fragment) writeFileAtomic(resolve(values.fragment), result.fragment);
  const r = result.report;

  let build: Awaited<ReturnType<typeof imageForCli>> | undefined;
  let boot;
  let htmlReport: string | null = null;
  if (values.build) {
    const args = { ...(values['app-arg'] ? { args: values['app-arg'] } : {}), ...(values.distcc ? { distccHosts: values.distcc } : {}) };
    if (mode === 'ukl') {
      // the UKL.a the analysis read is the one the kernel links
      const archive = result.uklArchive;
      if (archive === null) throw new UsageError('--build needs the analysed UKL.a');
      build = await imageForCli({ mode, tree, config: result.config, app: [archive], ...args, out: values.build }, io);
    } else {
      const app = result.app;
      if (!app) throw new UsageError('--build needs the analysed executable');
      build = await imageForCli({ mode, tree, config: result.config, app, ...args, out: values.build }, io);
    }
    if (typeof build === 'number') return build;
    if (values.boot) {
      progressOf(io).begin(`booting under QEMU (waiting up to ${timeout} s)`);
      boot = BootReportSchema.parse(
        await bootKernel({
          image: build.bzImage,
          initrd: build.initramfs,
          expect: expect ?? (mode === 'ukl' ? UKL_BOOTED : /ukl-init: (network up|no IPv4 sockets)/),
          ...(tcpEcho !== undefined ? { tcpEcho: { guestPort: tcpEcho, line: 'ukl-trim echo check' } } : {}),
          timeoutSeconds: timeout,
          ukl: mode === 'ukl',
        }),
      );
      progressOf(io).end();
    }
    if (values.report) {
      const page = await reportForCli({ minimize: r, buildDir: build.buildDir, tree, baseline: reportBaseline ?? { kind: 'default' }, build: { seconds: build.buildSeconds, reused: build.reused }, boot: boot ?? null, out: values.report }, io);
      if (typeof page === 'number') return page;
      htmlReport = page.path;
    }
  }

  if (values.json) {
    io.out(JSON.stringify({ config: out, fragment: values.fragment ? resolve(values.fragment) : null, report: r, explain: Object.fromEntries((values.explain ?? []).map((s) => [s, result.explain(s)])), build: build ?? null, boot: boot ?? null, htmlReport }, null, 2));
  } else {
    io.out(`${out}: ${r.counts.enabled} options on, ${r.counts.fragmentLines} lines in the minimal form${written === 'written' && hadOld ? ` (previous kept as ${out}.old)` : ''}`);
    if (values.fragment) io.out(`fragment: ${resolve(values.fragment)}`);
    const byKind = new Map<string, number>();
    for (const q of r.requirements) byKind.set(q.kind, (byKind.get(q.kind) ?? 0) + 1);
    io.out(`requirements: ${[...byKind].map(([k, n]) => `${n} ${k}`).join(', ')}; all hold: ${r.check.requirementsHold ? 'yes' : 'NO'}`);
    io.out(`solver: ${r.solver.variables} variables, ${r.solver.constraints} constraints, ${r.solver.status} in ${r.solver.seconds} s; total ${r.seconds.total} s`);
    io.out(`check: olddefconfig-stable ${r.check.stable ? 'yes' : 'NO'}, model = engine ${r.check.modelMismatches.length === 0 ? 'yes' : `no (${r.check.modelMismatches.length})`}, 1-minimal ${r.check.oneMinimal.checked ? `yes (${r.check.oneMinimal.flipsTried} flips tried${r.check.oneMinimal.improvements.length ? `, ${r.check.oneMinimal.improvements.length} improvements taken` : ''})` : 'not checked'}`);
    for (const w of r.warnings) io.out(`warning: ${w}`);
    if (r.unresolved.length > 0) {
      io.out(`unresolved: ${r.unresolved.length} place${r.unresolved.length > 1 ? 's' : ''} the analysis could not rule out (above); the kernel may lack what they need: add it with --assume-syscall NAME or --enable SYM, or refuse such results with --strict`);
    }
    for (const s of values.explain ?? []) for (const line of result.explain(s)) io.out(line);
    if (build && typeof build !== 'number') io.out(`bzImage ${build.bzImage} ${build.bzImageBytes} bytes; vmlinux text ${build.vmlinux.text}; build ${build.reused ? 'reused' : `${build.buildSeconds} s${ccacheNote(build)}`}`);
    if (boot) {
      io.out(boot.ok ? `boot: ok, marker after ${boot.markerSeconds} s${boot.echoSeconds !== null && boot.echoSeconds !== undefined ? `, echo after ${boot.echoSeconds} s` : ''}` : `boot: FAILED (${boot.failure}): ${boot.message}`);
      if (!boot.ok) for (const l of boot.consoleTail.slice(-15)) io.out(`  | ${l}`);
    }
    if (htmlReport !== null) io.out(`report: ${htmlReport}`);
  }
  if (!r.check.requirementsHold || !r.check.stable) return 1;
  if (boot && !boot.ok) return 1;
  return 0;
}
