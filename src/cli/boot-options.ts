import type { BootOptions, BootReport } from '../build/qemu.js';
import { UsageError, type CliIO } from './common.js';

/**
 * The boot flags `ukl-trim APP --build OUT --boot` and `ukl-trim boot` share: one definition, one
 * check, one default each, one way to print the result.
 */
export const BOOT_FLAGS = {
  expect: { type: 'string' },
  'tcp-echo': { type: 'string' },
  timeout: { type: 'string' },
  append: { type: 'string' },
  memory: { type: 'string' },
  'guest-ip': { type: 'string' },
} as const;

export const BOOT_FLAGS_USAGE = '[--expect REGEX] [--tcp-echo GUEST_PORT] [--timeout SECONDS] [--append TEXT] [--memory MB] [--guest-ip ADDR]';

const DEFAULT_TIMEOUT_SECONDS = 240;
const DEFAULT_MEMORY_MB = 256;

export const BOOT_FLAGS_HELP = `  --expect REGEX: success once a console line matches (default: our init's line once the network
  is set up, "ukl-init: network up" or, in a kernel without IPv4, "ukl-init: no IPv4 sockets"; in
  UKL mode "UKL BOOTED"); --tcp-echo PORT: then a line sent to the guest's PORT must come back
  (QEMU forwards it to --guest-ip, default ukl.ip= from --append, else 10.0.2.15);
  --timeout SECONDS (default ${DEFAULT_TIMEOUT_SECONDS}); --memory MB (default ${DEFAULT_MEMORY_MB}); --append TEXT: more kernel command line.`;

/** our init's line once the network is set up, or found missing (src/build/init/init.c) */
export const INIT_READY = /ukl-init: (network up|no IPv4 sockets)/;
/** UKL's init line just before it execs the trigger (src/build/init/init.c) */
export const UKL_BOOTED = /^UKL BOOTED$/;

type BootFlagValues = { [K in keyof typeof BOOT_FLAGS]?: string | undefined };
export type BootChoices = Pick<BootOptions, 'expect' | 'timeoutSeconds' | 'memoryMB'> & Partial<Pick<BootOptions, 'append' | 'tcpEcho'>>;

/** the checked boot flags; a bad value is a UsageError naming the flag */
export function bootChoices(values: BootFlagValues, opts: { ukl: boolean }): BootChoices {
  const guestPort = values['tcp-echo'] === undefined ? undefined : positiveNumber(values['tcp-echo'], '--tcp-echo', 0, true);
  if (guestPort !== undefined && guestPort > 65535) throw new UsageError(`--tcp-echo ${guestPort}: not a TCP port`);
  const guestAddress = values['guest-ip'];
  if (guestAddress !== undefined && !/^\d{1,3}(\.\d{1,3}){3}$/.test(guestAddress)) throw new UsageError(`--guest-ip ${guestAddress}: not an IPv4 address`);
  return {
    expect: values.expect === undefined ? (opts.ukl ? UKL_BOOTED : INIT_READY) : regex(values.expect),
    timeoutSeconds: positiveNumber(values.timeout, '--timeout', DEFAULT_TIMEOUT_SECONDS),
    memoryMB: positiveNumber(values.memory, '--memory', DEFAULT_MEMORY_MB, true),
    ...(values.append !== undefined ? { append: values.append } : {}),
    ...(guestPort !== undefined ? { tcpEcho: { guestPort, ...(guestAddress !== undefined ? { guestAddress } : {}) } } : {}),
  };
}

function regex(text: string): RegExp {
  try {
    return new RegExp(text);
  } catch (e) {
    throw new UsageError(`--expect: not a regular expression: ${(e as Error).message}`);
  }
}

export function positiveNumber(text: string | undefined, option: string, fallback: number, integer = false): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new UsageError(`${option} ${text}: expected a positive ${integer ? 'integer' : 'number'}`);
  return n;
}

/** `boot: ok, marker after …` or the failure and the console's last lines */
export function printBootResult(report: BootReport, io: CliIO): void {
  if (report.ok) {
    const echo = report.echoSeconds !== null && report.echoSeconds !== undefined ? `, echo after ${report.echoSeconds} s` : '';
    io.out(`boot: ok, marker after ${report.markerSeconds} s${echo} (${report.accel})`);
    return;
  }
  io.out(`boot: FAILED (${report.failure}): ${report.message ?? ''}`);
  io.out('last console lines:');
  for (const l of report.consoleTail.slice(-15)) io.out(`  | ${l}`);
}
