import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kernelTreeForTests } from '../../src/kconfig/oracle.js';
import { chromiumAvailable, pngSize } from '../helpers/chromium.js';
import { CLI } from '../helpers/lsp-client.js';
import { Chromium, type Page } from './code-server-cdp.js';
import { CODE_SERVER_VERSION, codeServerAvailable, codeServerBin } from './code-server-install.js';

/**
 * The VS Code extension in a real VS Code: code-server (VS Code 1.100 in the browser, from npm)
 * gets the packaged .vsix with --install-extension, serves a workspace folder holding an app and
 * its ukl-trim.json (the kernel: the 6.1 tree), and headless Chromium, driven through the DevTools
 * protocol, opens a .config and the tree's net/Kconfig through Quick Open and reads what Monaco
 * rendered: lines faded by hints tagged Unnecessary, the menu's code lens, and the hovers with
 * their reason chains. A screenshot of the hover goes to out/code-server/vscode.png.
 */
const tree = kernelTreeForTests();
const available = (tree !== null && chromiumAvailable() && codeServerAvailable()) || process.env.CI === 'true';
const WIDTH = 1400;
const HEIGHT = 900;
const work = mkdtempSync(join(tmpdir(), 'ukl-code-server-'));
const app = join(work, 'app');
const userData = join(work, 'user-data');
const extensions = join(work, 'extensions');
const shots = resolve('out', 'code-server');
const codeServerArgs = ['--config', join(work, 'config.yaml'), '--user-data-dir', userData, '--extensions-dir', extensions, '--disable-telemetry'];

/** what the extension wrote to its output channel (code-server keeps it under the user data folder) */
function extensionLog(): string {
  const logs = join(userData, 'logs');
  if (!existsSync(logs)) return '(no logs)';
  const files = readdirSync(logs, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith(join('ukl-trim.ukl-trim', 'ukl-trim.log')));
  return files.map((f) => readFileSync(join(logs, f), 'utf8').slice(-3000)).join('\n') || '(no ukl-trim log)';
}

/** Monaco's rendered lines of the editor on `file`: line number → text, and whether a fading decoration is on it */
function renderedLines(file: string): string {
  return `(() => {
    const editor = document.querySelector(${JSON.stringify(`.monaco-editor[data-uri$="${file}"]`)});
    if (!editor) return null;
    const views = [...editor.querySelectorAll('.view-lines .view-line')];
    const out = {};
    for (const number of editor.querySelectorAll('.margin-view-overlays .line-numbers')) {
      const top = number.closest('[style*="top"]').style.top;
      const view = views.find((v) => v.style.top === top);
      if (view) out[number.textContent.trim()] = { text: view.textContent.replace(/\\u00a0/g, ' '), faded: view.querySelector('.squiggly-inline-unnecessary') !== null };
    }
    return out;
  })()`;
}

/** the centre of `word` on a rendered line, in page pixels */
function wordCentre(file: string, line: number, word: string): string {
  return `(() => {
    const editor = document.querySelector(${JSON.stringify(`.monaco-editor[data-uri$="${file}"]`)});
    const number = [...editor.querySelectorAll('.margin-view-overlays .line-numbers')].find((n) => n.textContent.trim() === '${line}');
    if (!number) return null;
    const top = number.closest('[style*="top"]').style.top;
    const view = [...editor.querySelectorAll('.view-lines .view-line')].find((v) => v.style.top === top);
    const walker = document.createTreeWalker(view, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const at = node.textContent.search(/\\b${word}\\b/);
      if (at < 0) continue;
      const range = document.createRange();
      range.setStart(node, at);
      range.setEnd(node, at + ${word.length});
      const box = range.getBoundingClientRect();
      return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
    }
    return null;
  })()`;
}

const VISIBLE_HOVER = `[...document.querySelectorAll('.monaco-hover:not(.hidden)')].map((h) => h.innerText).join('\\n')`;

type Lines = Record<string, { text: string; faded: boolean }>;

describe.skipIf(!available)(`the VS Code extension in code-server ${CODE_SERVER_VERSION}, driven by headless Chromium`, () => {
  let server: ChildProcess | undefined;
  let serverExit: Promise<void> = Promise.resolve();
  let serverLog = '';
  let browser: Chromium | undefined;
  let page: Page;
  let install: { status: number | null; output: string };
  let kconfig: string;

  /** Quick Open (Ctrl+P) on an absolute path, then Go to Line (Ctrl+G) */
  async function open(file: string, line: number): Promise<void> {
    await page.press('p', true);
    await page.waitFor(`document.activeElement?.closest('.quick-input-widget') != null`, 'Quick Open', 10_000);
    await page.type(file);
    await page.waitFor(`(document.querySelector('.quick-input-list .monaco-list-row')?.getAttribute('aria-label') ?? '').startsWith(${JSON.stringify(basename(file))})`, `Quick Open to offer ${file}`, 30_000);
    await page.press('Enter');
    await page.waitFor(`document.activeElement?.closest(${JSON.stringify(`.monaco-editor[data-uri$="${file}"]`)}) != null`, `an editor on ${file}`, 30_000);
    await page.press('g', true);
    await page.waitFor(`document.activeElement?.closest('.quick-input-widget') != null`, 'Go to Line', 10_000);
    await page.type(String(line));
    await page.press('Enter');
    await page.waitFor(`(${renderedLines(file)})?.['${line}'] !== undefined`, `line ${line} of ${file} on screen`, 10_000);
  }

  /** hover the mouse over `word` on `line`; the text of the hover that shows up, once it holds `expect` */
  async function hover(file: string, line: number, word: string, expected: string): Promise<string> {
    await page.mouseMove(0, 0);
    const at = await page.waitFor<{ x: number; y: number }>(wordCentre(file, line, word), `${word} on line ${line}`, 10_000);
    // two moves: Monaco starts its hover on a mouse move inside the word
    await page.mouseMove(at.x - 2, at.y);
    await page.mouseMove(at.x, at.y);
    const text = await page.waitFor<string>(`(() => { const t = ${VISIBLE_HOVER}; return t.includes(${JSON.stringify(expected)}) ? t : ''; })()`, `a hover on ${word} saying "${expected}"`, 30_000);
    // past its fade-in
    await page.waitFor(`[...document.querySelectorAll('.monaco-hover:not(.hidden)')].every((h) => getComputedStyle(h).opacity === '1')`, 'the hover to be opaque', 5_000);
    return text;
  }

  const withLog = (e: unknown): never => {
    throw new Error(`${(e as Error).message}\n--- ukl-trim extension log:\n${extensionLog()}\n--- code-server:\n${serverLog.slice(-2000)}`);
  };

  beforeAll(async () => {
    if (!tree) throw new Error('no kernel tree (UKL_TRIM_KERNEL)');
    if (!codeServerAvailable()) throw new Error(`no code-server at ${codeServerBin()}: run scripts/setup.sh`);
    if (!chromiumAvailable()) throw new Error('no chromium: run scripts/setup.sh');
    kconfig = join(tree, 'net', 'Kconfig');

    const version = spawnSync(codeServerBin(), ['--version', ...codeServerArgs], { encoding: 'utf8', timeout: 60_000 });
    expect(version.stdout, version.stderr).toMatch(new RegExp(`^${CODE_SERVER_VERSION.replace(/\./g, '\\.')} [0-9a-f]{40} with Code 1\\.\\d+`, 'm'));

    const pack = spawnSync('bash', ['scripts/package-vsix.sh'], { encoding: 'utf8', timeout: 300_000 });
    expect(pack.status, `${pack.stdout}\n${pack.stderr}`).toBe(0);
    const vsix = join(work, 'ukl-trim.vsix');
    copyFileSync('out/ukl-trim.vsix', vsix);

    mkdirSync(app);
    copyFileSync('examples/echo-server/echo.c', join(app, 'echo.c'));
    const cc = spawnSync('gcc', ['-static', '-O2', '-o', join(app, 'echo'), join(app, 'echo.c')], { encoding: 'utf8' });
    expect(cc.status, cc.stderr).toBe(0);
    writeFileSync(join(app, 'ukl-trim.json'), `${JSON.stringify({ app: 'echo', kernel: tree })}\n`);
    writeFileSync(join(app, 'echo.config'), 'CONFIG_EPOLL=y\nCONFIG_IPV6=y\n');
    mkdirSync(join(userData, 'User'), { recursive: true });
    writeFileSync(
      join(userData, 'User', 'settings.json'),
      JSON.stringify({
        'ukl-trim.server.command': process.execPath,
        'ukl-trim.server.args': [CLI],
        'workbench.startupEditor': 'none',
        'security.workspace.trust.enabled': false,
        'telemetry.telemetryLevel': 'off',
        'extensions.autoCheckUpdates': false,
        'extensions.autoUpdate': false,
        'editor.minimap.enabled': false,
      }),
    );

    const r = spawnSync(codeServerBin(), [...codeServerArgs, '--install-extension', vsix], { encoding: 'utf8', timeout: 120_000 });
    install = { status: r.status, output: `${r.stdout}\n${r.stderr}` };

    const child = spawn(codeServerBin(), [...codeServerArgs, '--auth', 'none', '--bind-addr', '127.0.0.1:0', '--disable-update-check', '--disable-workspace-trust'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    server = child;
    serverExit = new Promise((done) => child.once('exit', () => done()));
    const origin = await new Promise<string>((found, fail) => {
      const timer = setTimeout(() => fail(new Error(`code-server did not say where it listens:\n${serverLog}`)), 60_000);
      const read = (b: Buffer): void => {
        serverLog += b.toString();
        const m = /HTTP server listening on (http:\/\/127\.0\.0\.1:\d+)\//.exec(serverLog);
        if (m?.[1]) {
          clearTimeout(timer);
          found(m[1]);
        }
      };
      child.stdout?.on('data', read);
      child.stderr?.on('data', read);
      child.once('exit', (code) => fail(new Error(`code-server exited (${code}):\n${serverLog}`)));
    });

    browser = Chromium.launch(WIDTH, HEIGHT);
    page = await browser.firstPage(WIDTH, HEIGHT);
    await page.navigate(`${origin}/?folder=${encodeURIComponent(app)}`);
    await page.waitFor(`document.querySelector('.monaco-workbench .part.editor') !== null`, 'the workbench', 60_000);
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    if (server?.pid !== undefined && server.exitCode === null) {
      // code-server, its extension host and the language server it started: one process group
      process.kill(-server.pid, 'SIGTERM');
      await Promise.race([serverExit, new Promise((r) => setTimeout(r, 10_000))]);
      try {
        process.kill(-server.pid, 'SIGKILL');
      } catch {
        // the group is gone
      }
    }
  });

  it('installs the packaged .vsix with --install-extension, offline', () => {
    expect(install.status, install.output).toBe(0);
    expect(install.output).toContain("Extension 'ukl-trim.vsix' was successfully installed.");
    expect(readdirSync(extensions)).toContain('ukl-trim.ukl-trim-0.1.0');
  });

  it('.config: the line the app leaves unused is faded, the needed one is not and its hover says why', async () => {
    const config = join(app, 'echo.config');
    await open(config, 1);
    // the first diagnostics wait for the analysis of the app and the minimisation on the 6.1 tree
    const lines = await page.waitFor<Lines>(`(() => { const l = ${renderedLines(config)}; return l?.['2']?.faded ? l : null; })()`, 'the IPV6 line to fade', 300_000).catch(withLog);
    expect(lines['2']).toEqual({ text: 'CONFIG_IPV6=y', faded: true });
    expect(lines['1']).toEqual({ text: 'CONFIG_EPOLL=y', faded: false });
    expect(await hover(config, 1, 'CONFIG_EPOLL', 'EPOLL: required by syscall epoll_')).toMatch(/EPOLL: required by syscall epoll_\w+/);
  }, 400_000);

  it('Kconfig: options off in the trimmed configuration are faded, the menu has its lens, NETFILTER hovers as unused', async () => {
    const source = readFileSync(kconfig, 'utf8').split('\n');
    const netfilter = source.indexOf('menuconfig NETFILTER') + 1;
    expect(netfilter).toBeGreaterThan(0);
    await open(kconfig, netfilter);
    const lines = await page.waitFor<Lines>(`(() => { const l = ${renderedLines(kconfig)}; return l?.['${netfilter}']?.faded ? l : null; })()`, 'the NETFILTER line to fade', 60_000).catch(withLog);
    expect(lines[String(netfilter)]?.text).toBe('menuconfig NETFILTER');
    // only option lines fade, never help text or plain lines
    const faded = Object.values(lines).filter((l) => l.faded);
    for (const l of faded) expect(l.text).toMatch(/^\s*(menu)?config [A-Z0-9_]+$/);
    expect(await hover(kconfig, netfilter, 'NETFILTER', 'unused')).toContain('nothing the app or its boot needs depends on NETFILTER');
  }, 120_000);

  it('Kconfig: INET is not faded and its hover gives the reason chain; a screenshot', async () => {
    const inet = readFileSync(kconfig, 'utf8').split('\n').indexOf('config INET') + 1;
    expect(inet).toBeGreaterThan(0);
    await open(kconfig, inet);
    const lines = await page.waitFor<Lines>(`(() => { const l = ${renderedLines(kconfig)}; return Object.values(l ?? {}).some((x) => x.faded) ? l : null; })()`, 'faded lines around INET', 60_000).catch(withLog);
    expect(lines[String(inet)]).toEqual({ text: 'config INET', faded: false });
    // the "Networking options" menu above it, with its count
    const lens = await page.waitFor<string>(`[...document.querySelectorAll('.codelens-decoration')].map((e) => e.textContent).find((t) => /^\\d+ of \\d+ options needed$/.test(t)) ?? ''`, 'a menu lens', 30_000).catch(withLog);
    const [needed, all] = lens.split(' of ').map((n) => Number.parseInt(n, 10)) as [number, number];
    expect(needed).toBeGreaterThan(0);
    expect(needed).toBeLessThan(all);
    const text = await hover(kconfig, inet, 'INET', 'INET: required by socket-family AF_INET');
    expect(text).toMatch(/^INET \(bool\) = y — TCP\/IP networking$/m);
    expect(text).toMatch(/^INET: required by socket-family AF_INET, reached by main → \S+/m);
    mkdirSync(shots, { recursive: true });
    const png = join(shots, 'vscode.png');
    await page.screenshot(png);
    expect(pngSize(readFileSync(png))).toEqual({ width: WIDTH, height: HEIGHT });
    expect(statSync(png).size).toBeGreaterThan(50_000);
  }, 120_000);
});
