import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';

/**
 * The boot test: run a kernel (and initramfs) under qemu-system-x86_64, watch the serial console
 * for a marker, and optionally prove the guest's network app works by sending it a line through
 * user-mode networking's hostfwd on 127.0.0.1. QEMU is always killed before this returns.
 */

export const BootFailureSchema = z.enum(['panic', 'timeout', 'exited', 'echo-failed', 'qemu-missing', 'ukl-not-started']);
export type BootFailure = z.infer<typeof BootFailureSchema>;

export const BootReportSchema = z.object({
  ok: z.boolean(),
  /** seconds from QEMU start to the marker, null when it never appeared */
  markerSeconds: z.number().nullable(),
  /** seconds from QEMU start to the first line echoed back (or the tcpClient's right answer), null when none was (or none asked for) */
  echoSeconds: z.number().nullable(),
  /** what the guest sent back for the echo (it holds the line, maybe with more), null when nothing */
  echoReply: z.string().nullable().default(null),
  /** the last console lines */
  consoleTail: z.array(z.string()),
  failure: BootFailureSchema.optional(),
  message: z.string().optional(),
  accel: z.enum(['kvm', 'tcg']),
  /** the 127.0.0.1 port forwarded to the guest's port, when a TCP echo was asked for */
  hostPort: z.number().int().optional(),
  /** the QEMU command that ran */
  command: z.array(z.string()),
});
export type BootReport = z.infer<typeof BootReportSchema>;

export interface BootOptions {
  /** bzImage (or any kernel QEMU's -kernel takes) */
  image: string;
  initrd?: string;
  /** appended to "console=ttyS0 panic=-1" */
  append?: string;
  /** success once a console line matches */
  expect: RegExp;
  /**
   * After the marker, send `line` to the guest's TCP port and expect it back. QEMU forwards to
   * `guestAddress`, default: `ukl.ip=` from `append`, else 10.0.2.15 (what our init uses).
   */
  tcpEcho?: { guestPort: number; line?: string; guestAddress?: string };
  /**
   * Instead of the echo: a real client of the app's protocol (dig, redis-cli, curl, …) against
   * the guest's TCP port, forwarded to a free port on 127.0.0.1. `run` resolves to null once the
   * answer is right, else to what was wrong; it is tried again until the budget runs out.
   */
  tcpClient?: { guestPort: number; run: (hostPort: number) => Promise<string | null>; budgetSeconds?: number };
  timeoutSeconds: number;
  memoryMB?: number;
  /** default 'auto': KVM when /dev/kvm is usable, else TCG */
  accel?: 'auto' | 'kvm' | 'tcg';
  /**
   * a UKL kernel: its app runs in kernel mode on user-mapped memory, so the CPU gets no SMAP or
   * SMEP (UKL's run_ukl_qemu.sh: `-cpu host,-smap,-smep`; TCG's default CPU has neither)
   */
  ukl?: boolean;
  /** default qemu-system-x86_64 */
  qemu?: string;
  /** lines kept in consoleTail (default 40) */
  tailLines?: number;
  /** every console line as it arrives */
  onConsoleLine?: (line: string) => void;
}

const PANIC = /Kernel panic - not syncing/;
// the program at UKL's trigger path ran itself: the kernel did not enter the linked-in app
const UKL_TRIGGER_RAN = /^ukl-trigger: /;
// our init's report that the app ended (src/build/init/init.c), to tell "app exited" from a crash
const APP_ENDED = /ukl-init: \/app (exited|killed)/;
// how long a panicking kernel may keep printing (its trace) before QEMU is killed
const PANIC_GRACE_MS = 2000;
// how long to keep trying the echo after the marker: slirp forwards only once the guest listens
const ECHO_BUDGET_MS = 30_000;
const ECHO_ATTEMPT_MS = 3000;

let kvmVerdict: boolean | undefined;

/**
 * KVM only when /dev/kvm opens read-write and a paused QEMU with `-cpu host` starts and quits
 * cleanly: on some hosts (nested virtualisation) the device opens but QEMU aborts setting MSRs
 * or the guest never runs, and TCG is the only thing that works.
 */
export function kvmUsable(qemu = 'qemu-system-x86_64'): boolean {
  if (kvmVerdict !== undefined) return kvmVerdict;
  kvmVerdict = false;
  try {
    closeSync(openSync('/dev/kvm', constants.O_RDWR));
  } catch {
    return false;
  }
  const probe = spawnSync(qemu, ['-accel', 'kvm', '-cpu', 'host', '-machine', 'pc', '-nodefaults', '-display', 'none', '-S', '-monitor', 'stdio'], {
    input: 'quit\n',
    encoding: 'utf8',
    timeout: 15_000,
    killSignal: 'SIGKILL',
  });
  kvmVerdict = probe.status === 0 && !/warning: host doesn't support|error/i.test(probe.stderr ?? '');
  return kvmVerdict;
}

/** A currently free TCP port on 127.0.0.1 (bind to port 0, read it, release it). */
export function freeLocalPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port on 127.0.0.1'))));
    });
  });
}

/** Where hostfwd sends the echo: slirp's default is its first DHCP address, 10.0.2.15, which a static ukl.ip may not be. */
function echoGuestAddress(opts: BootOptions): string {
  if (opts.tcpEcho?.guestAddress) return opts.tcpEcho.guestAddress;
  // the last ukl.ip= wins, as in init; empty means slirp's default
  const fromAppend = [...(opts.append ?? '').matchAll(/(?:^|\s)ukl\.ip="?([0-9.]+)/g)].at(-1);
  return fromAppend?.[1] ?? '';
}

export function qemuArguments(opts: BootOptions, accel: 'kvm' | 'tcg', hostPort: number | undefined): string[] {
  const append = ['console=ttyS0', 'panic=-1', opts.append ?? ''].filter((s) => s !== '').join(' ');
  // restrict=on: the guest reaches nothing outside; hostfwd into the guest still works
  const netdev = ['user', 'id=n0', 'restrict=on'];
  const guestPort = opts.tcpEcho?.guestPort ?? opts.tcpClient?.guestPort;
  if (guestPort !== undefined && hostPort !== undefined) netdev.push(`hostfwd=tcp:127.0.0.1:${hostPort}-${echoGuestAddress(opts)}:${guestPort}`);
  return [
    ...(accel === 'kvm' ? ['-enable-kvm', '-cpu', opts.ukl ? 'host,-smap,-smep' : 'host'] : ['-accel', 'tcg']),
    '-nodefaults',
    '-no-user-config',
    '-m', String(opts.memoryMB ?? 256),
    '-kernel', opts.image,
    ...(opts.initrd ? ['-initrd', opts.initrd] : []),
    '-append', append,
    '-serial', 'stdio',
    '-display', 'none',
    '-monitor', 'none',
    '-no-reboot',
    '-netdev', netdev.join(','),
    '-device', 'virtio-net-pci,netdev=n0',
  ];
}

/** One attempt: connect, send the line, resolve true once it came back whole. */
function echoOnce(port: number, line: string, timeoutMs: number): Promise<{ ok: boolean; reply: string; error?: string }> {
  return new Promise((resolve) => {
    let received = '';
    let settled = false;
    const socket: Socket = connect({ host: '127.0.0.1', port });
    const finish = (ok: boolean, error?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(error === undefined ? { ok, reply: received } : { ok, reply: received, error });
    };
    const timer = setTimeout(() => finish(false, `no reply within ${timeoutMs} ms`), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(line));
    socket.on('data', (chunk: string) => {
      received += chunk;
      if (received.includes(line)) finish(true);
    });
    socket.on('error', (e) => finish(false, e.message));
    // slirp accepts on the host side first and closes when the guest refuses: try again later
    socket.on('close', () => finish(false, received === '' ? 'connection closed without a reply' : `got ${JSON.stringify(received)} instead`));
  });
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** what a console that never printed a line usually means, for the timeout message */
function silentConsoleHint(ukl: boolean): string {
  const serial = 'does the kernel have SERIAL_8250 and SERIAL_8250_CONSOLE?';
  if (!ukl) return ` (the console printed nothing: ${serial})`;
  // seen on 6.1 with the RFC series: UKL_TLS=y and an app without a TLS segment print nothing at all
  return ` (the console printed nothing: a UKL kernel with UKL_TLS=y whose app has no TLS segment hangs this way, or the app faults before the console is up with SMAP/SMEP enforced; also, ${serial})`;
}

export async function bootKernel(opts: BootOptions): Promise<BootReport> {
  const qemu = opts.qemu ?? 'qemu-system-x86_64';
  const wantKvm = opts.accel === 'kvm' || ((opts.accel ?? 'auto') === 'auto' && kvmUsable(qemu));
  const accel = wantKvm ? 'kvm' : 'tcg';
  const hostPort = opts.tcpEcho || opts.tcpClient ? await freeLocalPort() : undefined;
  const command = [qemu, ...qemuArguments(opts, accel, hostPort)];
  const watch = new BootWatch(opts, hostPort);
  // detached: its own process group, so killing the group also ends anything QEMU started
  const child = spawn(qemu, command.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  const stopEndingWithUs = endWithUs(child);
  try {
    await watch.outcome(child, qemu);
  } finally {
    killGroup(child);
    stopEndingWithUs();
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      await new Promise<void>((r) => child.once('close', () => r()));
    }
  }
  return watch.report(accel, command);
}

/**
 * QEMU is in its own process group, so Ctrl-C does not reach it: end it with us, whatever ends
 * us. The function returned undoes this.
 */
function endWithUs(child: ChildProcess): () => void {
  const killOnExit = (): void => killGroup(child);
  const stopSignals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const onSignal = (signal: NodeJS.Signals): void => {
    killGroup(child);
    detach();
    // re-raise for the default action, unless the application handles the signal itself
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  const detach = (): void => {
    process.removeListener('exit', killOnExit);
    for (const s of stopSignals) process.removeListener(s, onSignal);
  };
  process.on('exit', killOnExit);
  for (const s of stopSignals) process.on(s, onSignal);
  return detach;
}

/** each whole line of a text stream; the function returned hands on what follows the last newline */
function onLines(stream: Readable | null, onLine: (line: string) => void): () => void {
  let pending = '';
  // setEncoding keeps a UTF-8 character split across two reads whole
  stream?.setEncoding('utf8');
  stream?.on('data', (text: string) => {
    pending += text;
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    for (const p of parts) onLine(p);
  });
  return () => {
    if (pending !== '') onLine(pending);
    pending = '';
  };
}

/** One boot as it goes: the console lines, the marker, the echo or client, and the outcome. */
class BootWatch {
  private readonly t0 = performance.now();
  // a /g or /y marker would keep lastIndex between lines
  private readonly marker: RegExp;
  private readonly tail: string[] = [];
  private readonly stderrLines: string[] = [];
  private markerSeconds: number | null = null;
  private echoSeconds: number | null = null;
  private echoReply: string | null = null;
  private failure: BootFailure | undefined;
  private message: string | undefined;
  private appEnded: string | undefined;
  private panicLine: string | undefined;
  private settled = false;
  /** the time ran out: a marker now is too late */
  private timedOut = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private resolveOutcome: () => void = () => undefined;

  constructor(
    private readonly opts: BootOptions,
    private readonly hostPort: number | undefined,
  ) {
    this.marker = new RegExp(opts.expect.source, opts.expect.flags.replace(/[gy]/g, ''));
  }

  /** settles on the first failure, or once the marker (and the echo or client, if asked for) came */
  outcome(child: ChildProcess, qemu: string): Promise<void> {
    return new Promise<void>((resolve) => {
      this.resolveOutcome = resolve;
      this.timer = setTimeout(() => void this.onTimeout(), this.opts.timeoutSeconds * 1000);
      const flushConsole = onLines(child.stdout, (line) => this.onLine(line));
      child.stderr?.on('data', (b: Buffer) => {
        for (const l of b.toString('utf8').split('\n')) if (l.trim() !== '') this.stderrLines.push(l.trim());
      });
      child.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') this.settle('qemu-missing', `${qemu} not found: install QEMU (Debian: apt-get install qemu-system-x86)`);
        else this.settle('exited', `could not start ${qemu}: ${e.message}`);
      });
      child.on('close', (code, signal) => {
        flushConsole();
        this.onExit(code, signal);
      });
    });
  }

  report(accel: 'kvm' | 'tcg', command: string[]): BootReport {
    const report: BootReport = {
      ok: this.failure === undefined,
      markerSeconds: this.markerSeconds,
      echoSeconds: this.echoSeconds,
      echoReply: this.echoReply,
      consoleTail: this.tail.slice(),
      accel,
      command,
    };
    if (this.failure !== undefined) report.failure = this.failure;
    if (this.message !== undefined) report.message = this.message;
    if (this.hostPort !== undefined) report.hostPort = this.hostPort;
    return BootReportSchema.parse(report);
  }

  private seconds(): number {
    return Math.round((performance.now() - this.t0) / 10) / 100;
  }

  private settle(failure?: BootFailure, message?: string): void {
    if (this.settled) return;
    this.settled = true;
    this.failure = failure;
    this.message = message;
    clearTimeout(this.timer);
    this.resolveOutcome();
  }

  private onLine(raw: string): void {
    const line = raw.replace(/\r/g, '');
    this.tail.push(line);
    if (this.tail.length > (this.opts.tailLines ?? 40)) this.tail.shift();
    this.opts.onConsoleLine?.(line);
    if (this.settled) return;
    if (APP_ENDED.test(line)) this.appEnded = line;
    if (this.opts.ukl && UKL_TRIGGER_RAN.test(line)) return this.settle('ukl-not-started', line.trim());
    if (PANIC.test(line)) return this.onPanic(line);
    if (this.markerSeconds === null && this.panicLine === undefined && !this.timedOut && this.marker.test(line)) {
      this.markerSeconds = this.seconds();
      void this.afterMarker();
    }
  }

  /** let the kernel print the rest of the panic (QEMU exits by itself with panic=-1, -no-reboot) */
  private onPanic(line: string): void {
    if (this.panicLine !== undefined) return;
    this.panicLine = line.trim();
    setTimeout(() => this.settle('panic', this.panicLine), PANIC_GRACE_MS);
  }

  private async onTimeout(): Promise<void> {
    if (this.panicLine !== undefined) return this.settle('panic', this.panicLine);
    const { expect, timeoutSeconds, ukl } = this.opts;
    if (this.markerSeconds !== null) return this.settle('timeout', `timed out after ${timeoutSeconds} s during the TCP echo`);
    this.timedOut = true;
    const silent = this.tail.length === 0 ? silentConsoleHint(ukl === true) : '';
    const serving = await this.servingWithoutMarker();
    this.settle('timeout', `no console line matched ${expect} within ${timeoutSeconds} s${silent}${serving}`);
  }

  /**
   * Whether the app answers the echo although its marker never came: a marker regex that does
   * not match what the app prints, or console output lost on the way, not an app that hangs.
   */
  private async servingWithoutMarker(): Promise<string> {
    const echo = this.opts.tcpEcho;
    if (echo === undefined || this.hostPort === undefined) return '';
    const line = `ukl-trim echo probe ${randomBytes(4).toString('hex')}\n`;
    const r = await echoOnce(this.hostPort, line, ECHO_ATTEMPT_MS);
    return r.ok
      ? `; yet the app answers on guest port ${echo.guestPort}: its console output did not match or never arrived`
      : `; nothing answers on guest port ${echo.guestPort} either (${r.error ?? 'no echo'})`;
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.panicLine !== undefined) return this.settle('panic', this.panicLine);
    const how = signal ? `signal ${signal}` : `status ${code}`;
    const why = this.appEnded ? `the application ended (${this.appEnded.trim()})` : this.stderrLines.length > 0 ? this.stderrLines.slice(-3).join('; ') : 'no message';
    this.settle('exited', `QEMU exited (${how}) ${this.markerSeconds === null ? 'before the marker' : 'before the echo'}: ${why}`);
  }

  /** the marker came: the TCP echo, else the client, else the boot is done */
  private async afterMarker(): Promise<void> {
    const { tcpEcho, tcpClient } = this.opts;
    if (tcpEcho && this.hostPort !== undefined) return this.runEcho(tcpEcho, this.hostPort);
    if (tcpClient && this.hostPort !== undefined) return this.runClient(tcpClient, this.hostPort);
    this.settle();
  }

  private async runEcho(echo: NonNullable<BootOptions['tcpEcho']>, hostPort: number): Promise<void> {
    const line = `${echo.line ?? `ukl-trim echo probe ${randomBytes(4).toString('hex')}`}\n`;
    const deadline = performance.now() + ECHO_BUDGET_MS;
    let lastError = 'not tried';
    while (!this.settled && performance.now() < deadline) {
      const r = await echoOnce(hostPort, line, ECHO_ATTEMPT_MS);
      if (r.ok) {
        this.echoSeconds = this.seconds();
        this.echoReply = r.reply;
        return this.settle();
      }
      lastError = r.error ?? 'failed';
      await new Promise((w) => setTimeout(w, 250));
    }
    this.settle('echo-failed', `no echo from guest port ${echo.guestPort} (127.0.0.1:${hostPort}) within ${ECHO_BUDGET_MS / 1000} s after the marker: ${lastError}`);
  }

  private async runClient(client: NonNullable<BootOptions['tcpClient']>, hostPort: number): Promise<void> {
    const budget = (client.budgetSeconds ?? ECHO_BUDGET_MS / 1000) * 1000;
    const deadline = performance.now() + budget;
    let lastError = 'not tried';
    while (!this.settled && performance.now() < deadline) {
      const problem = await client.run(hostPort).catch((e: unknown) => (e instanceof Error ? e.message : String(e)));
      if (problem === null) {
        this.echoSeconds = this.seconds();
        return this.settle();
      }
      lastError = problem;
      await new Promise((w) => setTimeout(w, 500));
    }
    this.settle('echo-failed', `the client against guest port ${client.guestPort} (127.0.0.1:${hostPort}) did not get its answer within ${budget / 1000} s after the marker: ${lastError}`);
  }
}
