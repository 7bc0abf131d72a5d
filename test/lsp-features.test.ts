import { cpSync, mkdtempSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TextDocument } from 'vscode-languageserver-textdocument';
import type { Diagnostic } from 'vscode-languageserver/node';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LibcSummary } from '../src/callgraph/libc-summary.js';
import { minimizeConfig } from '../src/minimize/minimize.js';
import type { Requirement } from '../src/minimize/requirements.js';
import { codeActions } from '../src/lsp/code-actions.js';
import { diagnosticsFor } from '../src/lsp/diagnostics.js';
import { fileKind, isAppSource } from '../src/lsp/file-kind.js';
import { hoverAt, libcHover } from '../src/lsp/hover.js';
import { callLenses, codeLenses } from '../src/lsp/lenses.js';
import { definitionsAt, referencesAt } from '../src/lsp/navigation.js';
import { ProjectFileSchema, type Project } from '../src/lsp/project.js';
import type { Snapshot } from '../src/lsp/snapshot.js';
import { KernelWorkspace } from '../src/lsp/workspace.js';

/**
 * The language server's features as plain functions of a document and a snapshot, on a copy of
 * fixtures/kernel-mini with a net/Kconfig of menus. The "project" view is a real minimisation
 * for two requirements an app analysis would give (epoll_wait, AF_INET).
 */
const REQUIREMENTS: Requirement[] = [
  { expression: 'EPOLL', kind: 'syscall', detail: 'epoll_wait', path: ['main', 'serve', 'epoll_wait'] },
  { expression: 'INET', kind: 'socket-family', detail: 'AF_INET' },
];
const NET_KCONFIG = ['menu "Networking options"', 'config INET', '\tbool "TCP/IP"', '\tdepends on NET', 'config IPV6', '\tbool "IPv6"', '\tdepends on INET', 'endmenu', 'menuconfig NETFILTER', '\tbool "Netfilter"', '\tdepends on NET', 'config NF_LOG', '\tbool "logging"', '\tdepends on NETFILTER', ''].join('\n');

function doc(path: string, text: string): TextDocument {
  return TextDocument.create(pathToFileURL(path).href, 'plaintext', 1, text);
}
const text = (m: Diagnostic['message']): string => (typeof m === 'string' ? m : m.value);
const brief = (d: Diagnostic[]): Array<[number, number, string]> => d.map((x) => [x.range.start.line, x.range.end.line, text(x.message)]);

describe('language server features, without a server', () => {
  const tree = mkdtempSync(join(tmpdir(), 'ukl-lsp-tree-'));
  const app = mkdtempSync(join(tmpdir(), 'ukl-lsp-app-'));
  const project: Project = { file: join(app, 'ukl-trim.json'), app: [join(app, 'app.o')], settings: ProjectFileSchema.parse({ app: 'app.o', profile: null }) };
  let tracked: Snapshot;
  let analysed: Snapshot;

  beforeAll(async () => {
    cpSync(resolve('fixtures/kernel-mini'), tree, { recursive: true });
    writeFileSync(join(tree, 'net', 'Kconfig'), NET_KCONFIG);
    appendFileSync(join(tree, 'Kconfig'), 'source "net/Kconfig"\n');
    const minimize: typeof minimizeConfig = ({ app: _app, ...opts }) => minimizeConfig({ ...opts, requirements: REQUIREMENTS });
    const treeWs = await KernelWorkspace.open(tree, 'x86_64', minimize);
    tracked = { workspace: treeWs, projectDiagnostics: [] };
    const ws = await KernelWorkspace.open(tree, 'x86_64', minimize);
    await ws.useProject(project);
    analysed = { workspace: ws, project, projectFile: project.file, projectDiagnostics: [{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 1 } }, message: 'bad' }] };
  }, 60_000);

  it('sorts files into the kinds the server handles, by base name', () => {
    const kinds = ['ukl-trim.json', 'Kconfig', 'Kconfig.debug', 'x.kconfig', '.config', 'echo.config', 'defconfig', 'x86_64_defconfig', 'a.c', 'a.h', 'entry.S', 'Makefile', 'Kbuild', 'echo.o', 'Kbuild.include', 'a.cc', 'README'].map((n) => fileKind(`/t/dir/${n}`));
    expect(kinds).toEqual(['project', 'kconfig', 'kconfig', 'kconfig', 'dotConfig', 'dotConfig', 'dotConfig', 'dotConfig', 'source', 'source', 'source', 'makefile', 'makefile', undefined, undefined, undefined, undefined]);
    expect(isAppSource(project, join(app, 'main.c'))).toBe(true);
    expect(isAppSource(project, join(tree, 'fs', 'eventpoll.c'))).toBe(false);
    expect(isAppSource(project, join(app, 'app.o'))).toBe(false);
  });

  it('Kconfig files: options off in the view are hinted unused (faded), naming whose view it is', () => {
    const kconfig = doc(join(tree, 'net', 'Kconfig'), NET_KCONFIG);
    const hints = diagnosticsFor(kconfig, analysed);
    expect(brief(hints)).toEqual([
      [4, 4, 'IPV6 is not needed by the app (app.o): off in the trimmed configuration'],
      [8, 8, 'NETFILTER is not needed by the app (app.o): off in the trimmed configuration'],
      [11, 11, 'NF_LOG is not needed by the app (app.o): off in the trimmed configuration'],
    ]);
    expect(hints.every((h) => h.severity === 4 && h.tags?.[0] === 1)).toBe(true);
    // the tree's defaults: NET is off, so is everything here
    expect(brief(diagnosticsFor(kconfig, tracked)).map(([line, , m]) => `${line} ${m}`)).toEqual([
      '1 INET is not needed by the default configuration: off in the trimmed configuration',
      '4 IPV6 is not needed by the default configuration: off in the trimmed configuration',
      '8 NETFILTER is not needed by the default configuration: off in the trimmed configuration',
      '11 NF_LOG is not needed by the default configuration: off in the trimmed configuration',
    ]);
  });

  it('.config files: unused lines carry the symbol for the quick fix, needed ones say why', () => {
    const config = doc(join(app, 'test.config'), 'CONFIG_EPOLL=y\nCONFIG_IPV6=y\n# CONFIG_NET is not set\nCONFIG_NET=m\n');
    expect(diagnosticsFor(config, analysed).map((d) => [d.range.start.line, d.severity, d.message, d.data])).toEqual([
      [0, 3, 'EPOLL: required by syscall epoll_wait, reached by main → serve → epoll_wait', { symbol: 'EPOLL', needed: true }],
      [1, 4, 'IPV6: unused by the app (app.o)', { symbol: 'IPV6' }],
      [3, 3, 'NET: INET depends on it\nINET: required by socket-family AF_INET', { symbol: 'NET', needed: true }],
    ]);
    // no project: no reasons, and nothing is called unused
    expect(diagnosticsFor(config, tracked)).toEqual([]);
  });

  it('kernel sources and Makefiles the view does not build are faded whole; built sources, their dead #if branches', () => {
    const msg = doc(join(tree, 'ipc', 'msg.c'), 'int a;\nint b;\n');
    expect(brief(diagnosticsFor(msg, analysed))).toEqual([[0, 2, 'not built under the app (app.o): needs SYSVIPC']]);
    const eventpoll = doc(join(tree, 'fs', 'eventpoll.c'), 'int a;\n#ifdef CONFIG_IPV6\nint b;\n#else\nint c;\n#endif\n');
    expect(brief(diagnosticsFor(eventpoll, analysed))).toEqual([[2, 2, 'compiled out under the app (app.o): #ifdef CONFIG_IPV6']]);
    expect(brief(diagnosticsFor(eventpoll, tracked))).toEqual([[0, 6, 'not built under the default configuration: needs EPOLL']]);
    const inotify = doc(join(tree, 'fs', 'notify', 'inotify', 'Makefile'), 'obj-y += x.o\n');
    expect(brief(diagnosticsFor(inotify, analysed))).toEqual([[0, 1, 'directory not built under the app (app.o): needs FSNOTIFY']]);
    expect(diagnosticsFor(doc(join(tree, 'fs', 'Makefile'), ''), analysed)).toEqual([]);
    // outside the tree only .config files are judged
    expect(diagnosticsFor(doc(join(app, 'main.c'), '#ifdef CONFIG_IPV6\nx\n#endif\n'), analysed)).toEqual([]);
  });

  it("the project file shows the project's problems; nothing at all before a workspace exists", () => {
    expect(diagnosticsFor(doc(project.file, '{}'), analysed).map((d) => d.message)).toEqual(['bad']);
    expect(diagnosticsFor(doc(join(tree, 'net', 'Kconfig'), NET_KCONFIG), { projectDiagnostics: [] })).toEqual([]);
  });

  it('hover: an option with its value and why it is on, or that nothing needs it', async () => {
    const kconfig = doc(join(tree, 'net', 'Kconfig'), NET_KCONFIG);
    const noLibc = (): Promise<LibcSummary | null> => Promise.reject(new Error('not asked outside the app'));
    const inet = await hoverAt(kconfig, { line: 1, character: 8 }, analysed, noLibc);
    expect(inet?.contents).toEqual({
      kind: 'markdown',
      value: '**INET** (bool) = `y` — TCP/IP\n\nvisible: y; depends on: `NET` (y)\n\n**needed:**\n\n- INET: required by socket-family AF_INET\n\ndefined at net/Kconfig:2',
    });
    const netfilter = await hoverAt(kconfig, { line: 8, character: 12 }, analysed, noLibc);
    expect(String((netfilter?.contents as { value: string }).value)).toContain('**unused**: nothing the app or its boot needs depends on NETFILTER');
    expect(await hoverAt(kconfig, { line: 3, character: 2 }, analysed, noLibc)).toBeNull();
  });

  it("hover in the app's sources: a libc call's syscalls with the options the app's requirements tie them to", async () => {
    const summary = {
      syscallNames: { '1': 'write', '232': 'epoll_wait' },
      functions: { __epoll_wait: { syscalls: [1, 232, 7], via: [null, null, null], indirect: true, unknown: false } },
      aliases: { epoll_wait: '__epoll_wait' },
    } as unknown as LibcSummary;
    const asked: string[] = [];
    const libc = (name: string): Promise<LibcSummary | null> => (asked.push(name), Promise.resolve(summary));
    const source = doc(join(app, 'main.c'), 'int main(void) { return epoll_wait(3, 0, 1, -1) + CONFIG_INET; }\n');
    const hover = await hoverAt(source, { line: 0, character: 26 }, analysed, libc);
    expect((hover?.contents as { value: string }).value).toBe(
      '**epoll_wait** (glibc, `__epoll_wait`): 3 syscalls on its own\n\nwrite, epoll_wait → `EPOLL`, syscall_7\n\nan indirect call is reachable: whatever it calls comes on top',
    );
    expect(asked).toEqual(['glibc']);
    // not a libc function: the option hover still answers in the app's sources
    const option = await hoverAt(source, { line: 0, character: 55 }, analysed, libc);
    expect((option?.contents as { value: string }).value).toMatch(/^\*\*INET\*\* \(bool\)/);
    expect(libcHover(summary, 'musl', 'read', REQUIREMENTS)).toBeNull();
  });

  it('lenses: "N of M options needed" on menus, and on the calls in the app that pull options in', () => {
    const kconfig = doc(join(tree, 'net', 'Kconfig'), NET_KCONFIG);
    const lens = (l: { range: { start: { line: number; character: number } }; command?: { title: string } }): string => `${l.range.start.line}:${l.range.start.character} ${l.command?.title}`;
    expect(codeLenses(kconfig, analysed).map(lens)).toEqual(['0:0 1 of 2 options needed', '8:0 0 of 1 options needed']);
    expect(codeLenses(kconfig, tracked).map(lens)).toEqual(['0:0 0 of 2 options needed', '8:0 0 of 1 options needed']);
    const main = ['int main(void) {', '  serve(); // serve() forever', '}', 'static void serve(void)', '{', '  n = epoll_wait(fd, ev, 1, -1);', '}'].join('\n');
    expect(codeLenses(doc(join(app, 'main.c'), main), analysed).map(lens)).toEqual(['1:2 pulls in EPOLL (syscall epoll_wait)', '5:6 pulls in EPOLL (syscall epoll_wait)']);
    // not the app's source, or no project view: no call lenses
    expect(codeLenses(doc(join(tree, 'fs', 'eventpoll.c'), main), analysed)).toEqual([]);
    expect(codeLenses(doc(join(app, 'main.c'), main), { ...tracked, project })).toEqual([]);
    const many: Requirement[] = ['a', 'b', 'c', 'd'].map((x) => ({ expression: x.toUpperCase(), kind: 'syscall', detail: x, path: ['main', 'f'] }));
    expect(callLenses('f();', many).map(lens)).toEqual(['0:0 pulls in A (syscall a), B (syscall b), C (syscall c)']);
  });

  it('code actions in a .config: disable an unused option, or write the minimal configuration', () => {
    const text = 'CONFIG_EPOLL=y\nCONFIG_IPV6=y\n';
    const config = doc(join(app, 'test.config'), text);
    const diagnostics = diagnosticsFor(config, analysed);
    const actions = codeActions(config, diagnostics, analysed);
    expect(actions.map((a) => [a.title, a.kind])).toEqual([
      ['Disable IPV6 (unused)', 'quickfix'],
      ['Write the minimal configuration (ukl-trim)', 'source'],
    ]);
    expect(actions[0]?.edit?.changes?.[config.uri]).toEqual([{ range: { start: { line: 1, character: 0 }, end: { line: 1, character: 13 } }, newText: '# CONFIG_IPV6 is not set' }]);
    expect(actions[1]?.edit?.changes?.[config.uri]?.[0]?.newText).toBe(analysed.workspace?.current.result?.config);
    expect(analysed.workspace?.current.result?.config).toMatch(/^CONFIG_EPOLL=y$/m);
    // no minimisation: nothing to write; not a .config: no actions
    expect(codeActions(config, diagnostics, tracked).map((a) => a.title)).toEqual(['Disable IPV6 (unused)']);
    expect(codeActions(doc(join(tree, 'net', 'Kconfig'), NET_KCONFIG), diagnostics, analysed)).toEqual([]);
  });

  it('definition and references of the option under the cursor', () => {
    const kconfig = doc(join(tree, 'net', 'Kconfig'), NET_KCONFIG);
    const at = (l: { uri: string; range: { start: { line: number } } }): string => `${l.uri.slice(pathToFileURL(tree).href.length + 1)}:${l.range.start.line}`;
    expect(definitionsAt(kconfig, { line: 6, character: 13 }, analysed)?.map(at)).toEqual(['net/Kconfig:1']);
    expect(referencesAt(kconfig, { line: 3, character: 13 }, false, analysed)?.map(at)).toEqual(['net/Kconfig:3', 'net/Kconfig:10']);
    expect(referencesAt(kconfig, { line: 1, character: 8 }, true, analysed)?.map(at)).toEqual(['net/Kconfig:1', 'net/Kconfig:6']);
    expect(referencesAt(kconfig, { line: 2, character: 8 }, false, analysed)).toBeNull();
    expect(definitionsAt(kconfig, { line: 1, character: 8 }, { projectDiagnostics: [] })).toBeNull();
  });
});
