import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Headless Chromium (Debian's `chromium`) opening a page from a file: the DOM after its script
 * ran, or a screenshot. Each run gets its own profile folder, removed afterwards.
 */

export const CHROMIUM = 'chromium';

export function chromiumAvailable(): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', CHROMIUM]).status === 0;
}

/** the flags every headless run here starts with: its own profile folder and window size */
export function headlessArgs(profile: string, width: number, height: number): string[] {
  return [
    '--headless',
    // as root (CI, containers) Chromium refuses to start with its sandbox on
    '--no-sandbox',
    '--disable-gpu',
    '--hide-scrollbars',
    '--no-first-run',
    '--no-default-browser-check',
    `--user-data-dir=${profile}`,
    `--window-size=${width},${height}`,
  ];
}

function runChromium(page: string, mode: string[], width: number, height: number): string {
  const profile = mkdtempSync(join(tmpdir(), 'ukl-chromium-'));
  try {
    const args = [...headlessArgs(profile, width, height), ...mode, pathToFileURL(page).href];
    const r = spawnSync(CHROMIUM, args, { encoding: 'utf8', timeout: 90_000, maxBuffer: 64 * 1024 * 1024 });
    if (r.status !== 0) throw new Error(`chromium ${args.join(' ')}: ${r.error?.message ?? `exit ${r.status}`}\n${r.stderr.slice(-2000)}`);
    return r.stdout;
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/** the page's DOM as Chromium has it once the page's script has run */
export function dumpDom(page: string, width = 1280, height = 1400): string {
  return runChromium(page, ['--dump-dom'], width, height);
}

/** a PNG of the top of the page, width × height */
export function screenshot(page: string, png: string, width = 1280, height = 1400): void {
  runChromium(page, [`--screenshot=${png}`], width, height);
}

/** the width and height a PNG file's header gives */
export function pngSize(data: Buffer): { width: number; height: number } {
  if (data.subarray(1, 4).toString('latin1') !== 'PNG') throw new Error('not a PNG file');
  return { width: data.readUInt32BE(16), height: data.readUInt32BE(20) };
}
