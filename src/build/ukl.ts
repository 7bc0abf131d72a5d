import { resolve } from 'node:path';
import { UklError } from '../lto/ukl-archive.js';

/** The kernel-side settings of UKL mode (the app side, UKL.a, is src/lto/ukl-archive.ts). */

// ---------------------------------------------------------------------------------------------
// Kernel configuration

export interface UklConfigSettings {
  /** symbol (no CONFIG_ prefix) → value as .config writes it: `y`, or a quoted string */
  enable: Record<string, string>;
  /** symbols that must be `is not set` */
  disable: string[];
}

export interface UklConfigOptions {
  /**
   * UKL_TLS: on when UKL.a has thread-local sections (its libc's or its own), off when it has
   * none, such as the kernel's libc-free samples/ukl (Kconfig.ukl's help text; a UKL_TLS kernel
   * without a TLS segment hangs before its first console line). Default on.
   */
  tls?: boolean;
}

/**
 * What UKL mode sets in the .config (§1.2 Makefile.am, Kconfig.ukl, §6):
 * UNIKERNEL_LINUX `depends on X86_64 && !RANDOMIZE_BASE && !PAGE_TABLE_ISOLATION`, so both must be
 * off or olddefconfig silently drops UKL; X86_KERNEL_IBT was off in the 6.1 build seen working (§6):
 * the app is not built with -fcf-protection, so its functions have no ENDBR for indirect calls.
 * BLK_DEV_INITRD: our init, which execs the trigger path, comes in the initramfs. (A UKL kernel
 * compares the exec'd name with UKL_NAME and then does not even open the file: RFC patch 08/10
 * skips do_open_execat and the ELF reading, and enters ukl__start.)
 */
export function uklConfigSettings(archivePath: string, name: string, opts: UklConfigOptions = {}): UklConfigSettings {
  // 6.1 writes the path unquoted into auto.conf and make treats it as a prerequisite (§6), so it
  // must be absolute (make runs in O=DIR) and free of characters make would split or expand
  const absolute = resolve(archivePath);
  if (/[\s"\\$#:%;]/.test(absolute)) {
    throw new UklError('bad-input', `UKL_ARCHIVE_PATH ${JSON.stringify(absolute)} has characters make cannot take in a prerequisite (space, quote, $, #, :, %, ;)`);
  }
  if (!name.startsWith('/') || /[\s"\\]/.test(name)) {
    throw new UklError('bad-input', `UKL_NAME ${JSON.stringify(name)} must be an absolute path without spaces or quotes (it is compared with the exec'd filename)`);
  }
  const tls = opts.tls ?? true;
  const enable: Record<string, string> = {
    UNIKERNEL_LINUX: 'y',
    UKL_ARCHIVE_PATH: `"${absolute}"`,
    UKL_NAME: `"${name}"`,
    BLK_DEV_INITRD: 'y',
  };
  const disable = ['RANDOMIZE_BASE', 'PAGE_TABLE_ISOLATION', 'X86_KERNEL_IBT'];
  if (tls) enable.UKL_TLS = 'y';
  else disable.push('UKL_TLS');
  return { enable, disable };
}
