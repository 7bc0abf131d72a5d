import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { checkUklAppInputs } from '../build/image.js';
import { bootKernel, BootReportSchema, type BootReport } from '../build/qemu.js';
import { detectUklSupport, runUklBuildHint } from '../kernel/ukl-support.js';
import { minimizeConfig, type MinimizeResult } from '../minimize/minimize.js';
import { profileNames } from '../minimize/profiles.js';
import { writeFileAtomic } from '../util/fs.js';
import type { BuildReport } from '../build/image.js';
import { BOOT_FLAGS, BOOT_FLAGS_HELP, BOOT_FLAGS_USAGE, bootChoices, printBootResult, type BootChoices } from './boot-options.js';
import { buildNote, imageForCli } from './build.js';
import { checkLibcOption, joinFlagValues, progressOf, resolveKernelForCli, UsageError, type CliIO } from './common.js';
import { INITRAMFS_FLAGS, INITRAMFS_FLAGS_HELP, INITRAMFS_FLAGS_USAGE, initramfsChoices, type InitramfsChoices } from './initramfs-options.js';
import type { BaselineChoice } from '../report/baseline.js';
import { baselineChoiceOf, reportForCli } from './report.js';

export const MINIMIZE_USAGE = `usage: ukl-trim APP... [--kernel DIR|TARBALL [--patch FILE]...] [--arch x86_64] [--libc glibc|musl|musl-ukl|none|PATH]
                [--mode initramfs|ukl] [--profile ${profileNames().join('|')}|none]
                [--enable SYM]... [--disable SYM]... [-o FILE] [--fragment FILE] [--explain SYM]...
                [--build OUT [--boot ${BOOT_FLAGS_USAGE}] [--app-arg ARG]... ${INITRAMFS_FLAGS_USAGE} [--distcc HOST]...]
                [--report FILE.html [--report-baseline DIR|CONFIG|none]]
                [--assume-syscall NAME]... [--observe 'WORKLOAD'] [--strict] [--no-check] [--json]
  the smallest kernel .config that provides every syscall, socket family and pseudo-file the app
  can reach, plus what booting it needs (the profile), each option with its reason.
  APP: an executable (a dynamically linked one is analysed with its interpreter and libraries,
  which go into the initramfs too), or objects / LTO objects / bitcode / archives linked with --libc.
  --mode ukl: APP is the app's C/assembler sources, objects and archives (made into UKL.a with
  UKL's flags and --libc: musl-ukl for musl built for UKL, 'none' for a libc-free app) or a
  ready UKL.a; --boot then needs --tcp-echo or --expect, which the app itself must answer.
  -o FILE (default .config; an existing one is kept as FILE.old), --fragment FILE: the minimal
  form (savedefconfig). --build OUT builds the kernel and initramfs like 'ukl-trim build';
  --boot then boots them under QEMU like 'ukl-trim boot'. --no-check skips the 1-minimality pass.
  --report FILE.html (with --build) writes the page 'ukl-trim report' writes, against
  --report-baseline (default: tinyconfig + the boot profile, built once and cached).
  --distcc HOST (repeatable; distcc host specs, default $DISTCC_HOSTS): compile on a distcc farm,
  ccache in front.
  Places the analysis cannot resolve (a syscall number or socket family it cannot compute) are
  listed; --assume-syscall NAME requires a syscall as if reached, --strict refuses (exit 2, nothing
  written) while any place is unresolved. A reached syscall only loadable modules provide
  (init_module, e.g. busybox's insmod) is a warning, as ukl-trim builds everything in; --strict
  refuses it too. --observe 'WORKLOAD' runs the app here under strace (with
  its --app-arg arguments) while the shell command line WORKLOAD runs (a client of the server, for
  example); when WORKLOAD ends the app is stopped, and every syscall strace saw is required too.
  initramfs flags (with --build), as for 'ukl-trim build':
${INITRAMFS_FLAGS_HELP}
  --boot flags, as for 'ukl-trim boot':
${BOOT_FLAGS_HELP}`;

const MINIMIZE_FLAGS = {
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
  ...BOOT_FLAGS,
  'app-arg': { type: 'string', multiple: true },
  ...INITRAMFS_FLAGS,
  'no-check': { type: 'boolean' },
  'assume-syscall': { type: 'string', multiple: true },
  observe: { type: 'string' },
  distcc: { type: 'string', multiple: true },
  report: { type: 'string' },
  'report-baseline': { type: 'string' },
  strict: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** flags whose value may start with a dash (`--app-arg -u`) */
const FREE_VALUE_FLAGS = ['--app-arg'];

function parseMinimizeArgs(argv: string[]) {
  return parseArgs({ args: joinFlagValues(argv, FREE_VALUE_FLAGS), options: MINIMIZE_FLAGS, allowPositionals: true, strict: true });
}

type MinimizeArgs = ReturnType<typeof parseMinimizeArgs>;

interface Checked {
  mode: 'initramfs' | 'ukl';
  boot: BootChoices | null;
  initramfs: InitramfsChoices;
  reportBaseline: BaselineChoice | null;
}

export async function runMinimize(argv: string[], io: CliIO): Promise<number> {
  const args = parseMinimizeArgs(argv);
  if (args.values.help) {
    io.out(MINIMIZE_USAGE);
    return 0;
  }
  const checked = checkMinimizeArgs(args);
  const tree = await resolveKernelForCli(args.values.kernel, io, args.values.patch ?? []);
  if (checked.mode === 'ukl') {
    // before the analysis: the tree must know UKL, and UKL.a cannot be built from a linked program
    if (!detectUklSupport(tree).supported) throw new UsageError(runUklBuildHint(tree));
    checkUklAppInputs(args.positionals);
  }
  const result = await minimizeFor(args, checked.mode, tree, io);
  const out = resolve(args.values.output);
  const hadOld = existsSync(out);
  const written = writeFileAtomic(out, result.config, { keepOld: true });
  if (args.values.fragment) writeFileAtomic(resolve(args.values.fragment), result.fragment);
  const after = args.values.build ? await buildBootAndReport(args, checked, tree, result, io) : { build: null, boot: null, htmlReport: null };
  if (typeof after === 'number') return after;
  if (args.values.json) {
    const { values } = args;
    io.out(JSON.stringify({ config: out, fragment: values.fragment ? resolve(values.fragment) : null, report: result.report, explain: Object.fromEntries((values.explain ?? []).map((s) => [s, result.explain(s)])), ...after }, null, 2));
  } else {
    io.out(`${out}: ${result.report.counts.enabled} options on, ${result.report.counts.fragmentLines} lines in the minimal form${written === 'written' && hadOld ? ` (previous kept as ${out}.old)` : ''}`);
    printSummary(args, result, after, io);
  }
  if (!result.report.check.requirementsHold || !result.report.check.stable) return 1;
  return after.boot && !after.boot.ok ? 1 : 0;
}

/** every flag checked before the slow work starts */
function checkMinimizeArgs({ values, positionals }: MinimizeArgs): Checked {
  if (positionals.length === 0) throw new UsageError(`no APP given; see 'ukl-trim minimize --help'`);
  for (const p of positionals) if (!existsSync(p)) throw new UsageError(`${p}: no such file`);
  const mode = values.mode;
  if (mode !== 'initramfs' && mode !== 'ukl') throw new UsageError(`--mode ${mode}: expected initramfs or ukl`);
  checkLibcOption(values.libc, { ukl: mode === 'ukl' });
  if (values.boot && !values.build) throw new UsageError('--boot needs --build OUT');
  for (const flag of ['include', 'app-name'] as const) if (values[flag] !== undefined && !values.build) throw new UsageError(`--${flag} needs --build OUT: it goes into the initramfs`);
  if (values.report && !values.build) throw new UsageError('--report needs --build OUT: the page maps the built kernel');
  if (values['report-baseline'] !== undefined && !values.report) throw new UsageError('--report-baseline needs --report FILE.html');
  if (mode === 'ukl' && values.boot && values['tcp-echo'] === undefined && values.expect === undefined) {
    // the init's own lines come before the kernel enters the app: they prove nothing about it
    throw new UsageError('--boot in UKL mode needs --tcp-echo PORT or --expect REGEX: what the app itself does once the kernel enters it');
  }
  return {
    mode,
    boot: values.boot ? bootChoices(values, { ukl: mode === 'ukl' }) : null,
    initramfs: initramfsChoices(values),
    reportBaseline: values.report ? baselineChoiceOf(values['report-baseline'], '--report-baseline') : null,
  };
}

async function minimizeFor({ values, positionals }: MinimizeArgs, mode: 'initramfs' | 'ukl', tree: string, io: CliIO): Promise<MinimizeResult> {
  const result = await minimizeConfig({
    kernel: tree,
    arch: values.arch,
    app: positionals,
    ...(values.libc ? { libc: values.libc } : {}),
    mode,
    profile: values.profile === 'none' ? null : (values.profile ?? (values.arch === 'x86_64' || values.arch === 'x86' ? 'qemu-x86_64' : null)),
    enable: values.enable ?? [],
    disable: values.disable ?? [],
    oneMinimal: !values['no-check'],
    assumeSyscalls: values['assume-syscall'] ?? [],
    ...(values.observe !== undefined ? { observe: { workload: values.observe, args: values['app-arg'] ?? [] } } : {}),
    ...(values.strict ? { strict: true } : {}),
    onProgress: (m) => progressOf(io).begin(m),
  });
  progressOf(io).end();
  return result;
}

interface AfterMinimize {
  build: BuildReport | null;
  boot: BootReport | null;
  htmlReport: string | null;
}

/** --build, then --boot and --report on what was built */
async function buildBootAndReport({ values }: MinimizeArgs, checked: Checked, tree: string, result: MinimizeResult, io: CliIO): Promise<AfterMinimize | number> {
  const out = values.build as string;
  const shared = { tree, config: result.config, out, ...(values['app-arg'] ? { args: values['app-arg'] } : {}), ...checked.initramfs, ...(values.distcc ? { distccHosts: values.distcc } : {}) };
  // the UKL.a (or executable) the analysis read is the one the kernel links (or the initramfs holds)
  if (checked.mode === 'ukl' && result.uklArchive === null) throw new UsageError('--build needs the analysed UKL.a');
  if (checked.mode === 'initramfs' && !result.app) throw new UsageError('--build needs the analysed executable');
  const build = checked.mode === 'ukl' ? await imageForCli({ mode: 'ukl', ...shared, app: [result.uklArchive as string] }, io) : await imageForCli({ mode: 'initramfs', ...shared, app: result.app as string }, io);
  const boot = checked.boot === null ? null : await bootBuilt(build, checked, io);
  if (!values.report) return { build, boot, htmlReport: null };
  const page = await reportForCli({ minimize: result.report, buildDir: build.buildDir, tree, baseline: checked.reportBaseline ?? { kind: 'default' }, build: { seconds: build.buildSeconds, reused: build.reused }, boot, out: values.report }, io);
  return { build, boot, htmlReport: page.path };
}

async function bootBuilt(build: BuildReport, checked: Checked, io: CliIO): Promise<BootReport> {
  const choices = checked.boot as BootChoices;
  progressOf(io).begin(`booting under QEMU (waiting up to ${choices.timeoutSeconds} s)`);
  try {
    return BootReportSchema.parse(await bootKernel({ image: build.bzImage, initrd: build.initramfs, ...choices, ukl: checked.mode === 'ukl' }));
  } finally {
    progressOf(io).end();
  }
}

function printSummary({ values }: MinimizeArgs, result: MinimizeResult, after: AfterMinimize, io: CliIO): void {
  const r = result.report;
  if (values.fragment) io.out(`fragment: ${resolve(values.fragment)}`);
  const byKind = new Map<string, number>();
  for (const q of r.requirements) byKind.set(q.kind, (byKind.get(q.kind) ?? 0) + 1);
  io.out(`requirements: ${[...byKind].map(([k, n]) => `${n} ${k}`).join(', ')}; all hold: ${r.check.requirementsHold ? 'yes' : 'NO'}`);
  if (r.sharedObjects.length > 0) io.out(`dynamically linked: analysed with ${r.sharedObjects.join(', ')} (an initramfs holds them too; linked statically, the app would get a smaller kernel)`);
  io.out(`solver: ${r.solver.variables} variables, ${r.solver.constraints} constraints, ${r.solver.status} in ${r.solver.seconds} s; total ${r.seconds.total} s`);
  const oneMinimal = r.check.oneMinimal.checked ? `yes (${r.check.oneMinimal.flipsTried} flips tried${r.check.oneMinimal.improvements.length ? `, ${r.check.oneMinimal.improvements.length} improvements taken` : ''})` : 'not checked';
  io.out(`check: olddefconfig-stable ${r.check.stable ? 'yes' : 'NO'}, model = engine ${r.check.modelMismatches.length === 0 ? 'yes' : `no (${r.check.modelMismatches.length})`}, 1-minimal ${oneMinimal}`);
  for (const w of r.warnings) io.out(`warning: ${w}`);
  if (r.unresolved.length > 0) {
    io.out(`unresolved: ${r.unresolved.length} place${r.unresolved.length > 1 ? 's' : ''} the analysis could not rule out (above); the kernel may lack what they need: add it with --assume-syscall NAME or --enable SYM, or refuse such results with --strict`);
  }
  for (const s of values.explain ?? []) for (const line of result.explain(s)) io.out(line);
  const { build, boot, htmlReport } = after;
  if (build) io.out(`bzImage ${build.bzImage} ${build.bzImageBytes} bytes; vmlinux text ${build.vmlinux.text}; build ${build.reused ? 'reused' : `${build.buildSeconds} s${buildNote(build)}`}`);
  if (boot) printBootResult(boot, io);
  if (htmlReport !== null) io.out(`report: ${htmlReport}`);
}
