import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kernelTreeForTests } from '../src/kconfig/oracle.js';
import { LspClient, type Diag } from './helpers/lsp-client.js';

/**
 * The language server over stdio, driven by a JSON-RPC client the way an editor drives it,
 * against the real 6.1 tree and the bundled echo example (a project file next to the app).
 */
const tree = kernelTreeForTests();
const available = tree !== null || process.env.CI === 'true';
const ANALYSIS_MS = 240_000;

interface HoverResult {
  contents: { kind: string; value: string };
}
interface Loc {
  uri: string;
  range: { start: { line: number } };
}

function lineOf(file: string, re: RegExp): number {
  const i = readFileSync(file, 'utf8').split('\n').findIndex((l) => re.test(l));
  if (i < 0) throw new Error(`${re} not in ${file}`);
  return i;
}

describe.skipIf(!available)('ukl-trim lsp: protocol round trips on the 6.1 tree with the echo example', () => {
  const app = mkdtempSync(join(tmpdir(), 'ukl-lsp-app-'));
  let client: LspClient;
  let kernel = '';

  beforeAll(async () => {
    if (!tree) throw new Error('no kernel tree (UKL_TRIM_KERNEL)');
    kernel = tree;
    copyFileSync('examples/echo-server/echo.c', join(app, 'echo.c'));
    const cc = spawnSync('gcc', ['-O2', '-c', '-o', join(app, 'echo.o'), join(app, 'echo.c')], { encoding: 'utf8' });
    if (cc.status !== 0) throw new Error(cc.stderr);
    writeFileSync(join(app, 'ukl-trim.json'), JSON.stringify({ app: 'echo.o', libc: 'glibc', kernel }, null, 2));
    client = new LspClient();
    const init = (await client.initialize([kernel, app])) as { capabilities: Record<string, unknown> };
    expect(init.capabilities).toMatchObject({ hoverProvider: true, definitionProvider: true, referencesProvider: true });
  }, ANALYSIS_MS);

  afterAll(async () => {
    await client?.close();
  });

  it('net/Kconfig: options the app does not need are hinted unused (Unnecessary), the needed ones are not', async () => {
    const file = join(kernel, 'net', 'Kconfig');
    const uri = await client.open(file, readFileSync(file, 'utf8'), 'kconfig');
    const diags = await client.diagnosticsFor(uri, ANALYSIS_MS, (d) => d.some((x) => x.message.includes('the app')));
    const unused = (name: string): Diag | undefined => diags.find((d) => d.message.startsWith(`${name} is not needed`));
    expect(unused('NETFILTER')?.tags).toEqual([1]);
    expect(unused('NETFILTER')?.severity).toBe(4);
    expect(unused('NETFILTER')?.range.start.line).toBe(lineOf(file, /^menuconfig NETFILTER$/));
    expect(unused('NET_PKTGEN')).toBeDefined();
    expect(unused('INET')).toBeUndefined();
    expect(unused('NET')).toBeUndefined();
    expect(client.progress.length).toBeGreaterThan(0);
  }, ANALYSIS_MS);

  it('hover on an option shows its value and the reason chain', async () => {
    const file = join(kernel, 'net', 'Kconfig');
    const uri = pathToFileURL(file).href;
    const line = lineOf(file, /^config INET$/);
    const hover = await client.request<HoverResult>('textDocument/hover', { textDocument: { uri }, position: { line, character: 8 } });
    expect(hover.contents.value).toContain('**INET** (bool) = `y`');
    expect(hover.contents.value).toMatch(/required by (socket-family AF_INET|boot profile)/);
    const packet = await client.request<HoverResult>('textDocument/hover', { textDocument: { uri }, position: { line: lineOf(file, /^menuconfig NETFILTER$/), character: 12 } });
    expect(packet.contents.value).toContain('**unused**');
  });

  it('definition and references of a symbol across the tree', async () => {
    const file = join(kernel, 'net', 'Kconfig');
    const uri = pathToFileURL(file).href;
    const dependsLine = readFileSync(file, 'utf8').split('\n').findIndex((l) => /^\s*depends on .*\bINET\b/.test(l));
    const character = (readFileSync(file, 'utf8').split('\n')[dependsLine] ?? '').indexOf('INET') + 1;
    const defs = await client.request<Loc[]>('textDocument/definition', { textDocument: { uri }, position: { line: dependsLine, character } });
    expect(defs).toEqual([expect.objectContaining({ uri, range: expect.objectContaining({ start: expect.objectContaining({ line: lineOf(file, /^config INET$/) }) }) })]);
    const refs = await client.request<Loc[]>('textDocument/references', { textDocument: { uri }, position: { line: dependsLine, character }, context: { includeDeclaration: false } });
    // every Kconfig line of the 6.1 tree that uses INET (depends on, select, if, …)
    expect(refs).toHaveLength(116);
    expect(refs.filter((r) => r.uri === uri).map((r) => r.range.start.line)).toEqual([92, 190, 304, 329, 344, 398, 417]);
    expect(refs.filter((r) => r.uri.endsWith('/net/ipv4/Kconfig')).map((r) => r.range.start.line)).toEqual([405, 424, 456]);
  });

  it('menus carry "N of M options needed" code lenses', async () => {
    const uri = pathToFileURL(join(kernel, 'net', 'Kconfig')).href;
    const lenses = await client.request<Array<{ range: { start: { line: number } }; command: { title: string } }>>('textDocument/codeLens', { textDocument: { uri } });
    expect(lenses.map((l) => `${l.range.start.line}: ${l.command.title}`)).toEqual([
      '5: 6 of 907 options needed',
      '60: 5 of 684 options needed',
      '121: 0 of 304 options needed',
      '325: 0 of 2 options needed',
      '368: 0 of 51 options needed',
    ]);
  });

  it('a .config: unused lines hinted with a quick fix, needed lines explained, and the minimal config as an action', async () => {
    const file = join(app, 'test.config');
    const text = 'CONFIG_EPOLL=y\nCONFIG_IPV6=y\n# CONFIG_NFS_FS is not set\n';
    writeFileSync(file, text);
    const uri = await client.open(file, text, 'properties');
    const diags = await client.diagnosticsFor(uri, ANALYSIS_MS, (d) => d.length >= 2);
    const ipv6 = diags.find((d) => d.message.startsWith('IPV6: unused'));
    expect(ipv6?.tags).toEqual([1]);
    expect(diags.find((d) => d.range.start.line === 0)?.message).toMatch(/^EPOLL: required by syscall epoll_\w+, reached by main → /);
    const actions = await client.request<Array<{ title: string; edit: { changes: Record<string, Array<{ newText: string }>> } }>>('textDocument/codeAction', {
      textDocument: { uri },
      range: ipv6?.range,
      context: { diagnostics: [ipv6] },
    });
    expect(actions.find((a) => a.title === 'Disable IPV6 (unused)')?.edit.changes[uri]?.[0]?.newText).toBe('# CONFIG_IPV6 is not set');
    const minimal = actions.find((a) => a.title.startsWith('Write the minimal configuration'));
    expect(minimal?.edit.changes[uri]?.[0]?.newText).toMatch(/^CONFIG_EPOLL=y$/m);
  });

  it('kernel sources the trimmed config does not build are faded whole; in built ones, the branches it compiles out', async () => {
    const off = join(kernel, 'net', 'ipv6', 'af_inet6.c');
    const uriOff = await client.open(off, readFileSync(off, 'utf8'), 'c');
    const d = await client.diagnosticsFor(uriOff, ANALYSIS_MS);
    expect(d).toHaveLength(1);
    expect(d[0]?.tags).toEqual([1]);
    expect(d[0]?.message).toMatch(/not built .* needs .*IPV6/);
    // a built file: only the #if branches the config compiles out are faded
    const on = join(kernel, 'fs', 'eventpoll.c');
    const source = readFileSync(on, 'utf8').split('\n');
    const uriOn = await client.open(on, source.join('\n'), 'c');
    const regions = await client.diagnosticsFor(uriOn, ANALYSIS_MS);
    expect(regions.some((r) => r.message.startsWith('not built'))).toBe(false);
    const compat = regions.find((r) => /#ifdef CONFIG_COMPAT$/.test(r.message));
    expect(compat?.tags).toEqual([1]);
    expect(source[(compat?.range.start.line ?? 0) - 1]).toMatch(/^#ifdef CONFIG_COMPAT/);
    // PROC_FS is on for the app: its branch stays
    expect(regions.some((r) => /CONFIG_PROC_FS/.test(r.message))).toBe(false);
  });

  it("the app's own source: calls that pull options in carry a lens", async () => {
    const file = join(app, 'echo.c');
    const uri = await client.open(file, readFileSync(file, 'utf8'), 'c');
    const lenses = await client.request<Array<{ range: { start: { line: number; character: number } }; command: { title: string } }>>('textDocument/codeLens', { textDocument: { uri } });
    const madvise = 'pulls in MMU && ADVISE_SYSCALLS (syscall madvise)';
    expect(lenses.map((l) => `${l.range.start.line}:${l.range.start.character} ${l.command.title}`)).toEqual([
      `26:2 ${madvise}`,
      `38:2 ${madvise}`,
      `43:2 ${madvise}`,
      '92:13 pulls in EPOLL (syscall epoll_create1)',
      `94:2 ${madvise}`,
      `99:2 ${madvise}`,
      '108:14 pulls in EPOLL (syscall epoll_wait)',
      `112:3 ${madvise}`,
      '118:17 pulls in NET (syscall accept4)',
    ]);
    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines[108]?.slice(14)).toMatch(/^epoll_wait\s*\(/);
  });

  it("hover on a libc call in the app's source: the syscalls it reaches and the options they need", async () => {
    const file = join(app, 'echo.c');
    const uri = await client.open(file, readFileSync(file, 'utf8'), 'c');
    const line = lineOf(file, /epoll_wait\s*\(/);
    const character = (readFileSync(file, 'utf8').split('\n')[line] ?? '').indexOf('epoll_wait') + 2;
    const hover = await client.request<HoverResult>('textDocument/hover', { textDocument: { uri }, position: { line, character } });
    expect(hover.contents.value).toMatch(/^\*\*epoll_wait\*\* \(glibc\): \d+ syscalls on its own/);
    expect(hover.contents.value).toContain('epoll_wait → `EPOLL`');
  }, 120_000);
});

describe.skipIf(!available)('ukl-trim lsp: bad input never crashes the server', () => {
  it('a broken project file is a diagnostic on that file; the Kconfig features still work', async () => {
    if (!tree) throw new Error('no kernel tree');
    const dir = mkdtempSync(join(tmpdir(), 'ukl-lsp-bad-'));
    writeFileSync(join(dir, 'ukl-trim.json'), '{ "app": "echo.o", "mode": "sideways" }');
    const client = new LspClient();
    try {
      await client.initialize([tree, dir]);
      const d = await client.diagnosticsFor(pathToFileURL(join(dir, 'ukl-trim.json')).href, 60_000, (x) => x.length > 0);
      expect(d.map((x) => x.message).join('\n')).toMatch(/mode/);
      const file = join(tree, 'net', 'Kconfig');
      const uri = await client.open(file, readFileSync(file, 'utf8'), 'kconfig');
      await client.diagnosticsFor(uri, 60_000);
      const hover = await client.request<HoverResult>('textDocument/hover', { textDocument: { uri }, position: { line: lineOf(file, /^config INET$/), character: 8 } });
      expect(hover.contents.value).toContain('**INET**');
      expect(client.alive).toBe(true);
    } finally {
      await client.close();
    }
  }, 120_000);

  it('an app path that does not exist, and invalid JSON, are diagnostics', async () => {
    if (!tree) throw new Error('no kernel tree');
    const dir = mkdtempSync(join(tmpdir(), 'ukl-lsp-missing-'));
    writeFileSync(join(dir, 'ukl-trim.json'), JSON.stringify({ app: 'missing.o', kernel: tree }));
    const client = new LspClient();
    try {
      await client.initialize([dir]);
      const d = await client.diagnosticsFor(pathToFileURL(join(dir, 'ukl-trim.json')).href, 60_000, (x) => x.length > 0);
      expect(d[0]?.message).toMatch(/missing\.o does not exist/);
      // the editor sends a broken edit of the file: reported, not fatal
      const uri = await client.open(join(dir, 'ukl-trim.json'), '{ "app": ');
      const broken = await client.diagnosticsFor(uri, 60_000, (x) => x.some((y) => /not valid JSON/.test(y.message)));
      expect(broken.length).toBeGreaterThan(0);
      expect(client.alive).toBe(true);
    } finally {
      await client.close();
    }
  }, 120_000);

  it('a folder that is not a kernel tree: a window message, and the server keeps answering', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ukl-lsp-notree-'));
    writeFileSync(join(dir, 'ukl-trim.json'), JSON.stringify({ app: 'ukl-trim.json', kernel: dir }));
    const client = new LspClient();
    try {
      await client.initialize([dir]);
      const end = Date.now() + 60_000;
      while (!client.messages.length && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
      expect(client.messages[0]?.type).toBe(1);
      expect(client.messages[0]?.message).toMatch(/kernel tree/);
      const hover = await client.request<unknown>('textDocument/hover', { textDocument: { uri: pathToFileURL(join(dir, 'x')).href }, position: { line: 0, character: 0 } });
      expect(hover).toBeNull();
      expect(client.alive).toBe(true);
    } finally {
      await client.close();
    }
  }, 120_000);
});
