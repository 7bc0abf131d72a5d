import { basename, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  CodeActionKind,
  CodeLensRefreshRequest,
  DiagnosticSeverity,
  DiagnosticTag,
  DidChangeWatchedFilesNotification,
  FileChangeType,
  MessageType,
  ShowMessageNotification,
  TextDocumentSyncKind,
  TextDocuments,
  type CodeAction,
  type CodeLens,
  type Connection,
  type Diagnostic,
  type Hover,
  type InitializeParams,
  type InitializeResult,
  type Location as LspLocation,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { explainSymbol } from '../kconfig/explain.js';
import { findProjectFile, PROJECT_FILE, readProject, type Project } from './project.js';
import { appSourceDirs, KernelWorkspace } from './workspace.js';
import { summarizeLibc, summaryEntry, type LibcSummary } from '../callgraph/libc-summary.js';

/**
 * The language server: Kconfig files get "unused" hints (tagged Unnecessary, so editors fade
 * them), menu code lenses, hover with the reason chain, definitions and references; `.config`
 * files get per-line notes and code actions; kernel sources the configuration does not build are
 * faded whole; the app's own sources get lenses on calls that pull options in. Analysis runs in
 * the background with progress; answers come from the last result meanwhile. Every failure is a
 * diagnostic or a window message: the server itself keeps running.
 */
export function startLanguageServer(connection: Connection): void {
  const documents = new TextDocuments(TextDocument);
  let folders: string[] = [];
  let workspace: KernelWorkspace | undefined;
  let loading: Promise<void> | undefined;
  let project: Project | undefined;
  let projectFile: string | undefined;
  let projectDiagnostics: Diagnostic[] = [];
  let lastAnalysis: string | undefined;
  let generation = 0;
  let lensRefresh = false;
  let editTimer: NodeJS.Timeout | undefined;

  const log = (m: string): void => connection.console.log(`ukl-trim: ${m}`);
  // a notification, not window/showMessageRequest: every client handles it and nothing waits on it
  const notify = (type: MessageType, message: string): void => {
    void connection.sendNotification(ShowMessageNotification.type, { type, message }).catch(() => {});
  };

  connection.onInitialize((params: InitializeParams): InitializeResult => {
    folders = (params.workspaceFolders ?? []).map((f) => fileURLToPath(f.uri));
    if (!folders.length && params.rootUri) folders = [fileURLToPath(params.rootUri)];
    lensRefresh = params.capabilities.workspace?.codeLens?.refreshSupport === true;
    return {
      capabilities: {
        textDocumentSync: TextDocumentSyncKind.Incremental,
        hoverProvider: true,
        definitionProvider: true,
        referencesProvider: true,
        codeLensProvider: { resolveProvider: false },
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix, CodeActionKind.Source] },
        executeCommandProvider: { commands: ['ukl-trim.reanalyze'] },
      },
      serverInfo: { name: 'ukl-trim', version: '0.1.0' },
    };
  });

  connection.onInitialized(() => {
    void connection.client.register(DidChangeWatchedFilesNotification.type, { watchers: [{ globPattern: `**/${PROJECT_FILE}` }, { globPattern: '**/*.{o,a,bc}' }] }).catch(() => {});
    loading = reload('initial load');
  });

  /** (Re)load the project and the view; the previous view keeps answering until this ends. */
  async function reload(why: string): Promise<void> {
    const mine = ++generation;
    const progress = await connection.window.createWorkDoneProgress().catch(() => undefined);
    progress?.begin('ukl-trim', 0, why, false);
    try {
      projectFile = findProjectFile(folders);
      project = undefined;
      projectDiagnostics = [];
      if (projectFile) {
        const doc = documents.get(pathToFileURL(projectFile).href);
        const r = readProject(projectFile, doc?.getText());
        project = r.project;
        projectDiagnostics = r.problems.map((p) => ({ range: lineRange(p.line), severity: DiagnosticSeverity.Error, source: 'ukl-trim', message: p.message }));
        void connection.sendDiagnostics({ uri: pathToFileURL(projectFile).href, diagnostics: projectDiagnostics }).catch(() => {});
      }
      let tree: string;
      try {
        tree = await KernelWorkspace.resolveTree(folders, project);
      } catch (e) {
        notify(MessageType.Error, `ukl-trim: no kernel tree: ${(e as Error).message}`);
        return;
      }
      const arch = project?.settings.arch ?? 'x86_64';
      if (!workspace || workspace.tree !== tree || workspace.arch !== arch) {
        progress?.report(`loading the Kconfig tree of ${tree}`);
        try {
          workspace = await KernelWorkspace.open(tree, arch);
        } catch (e) {
          notify(MessageType.Error, `ukl-trim: ${tree} cannot be loaded as a kernel tree: ${(e as Error).message}`);
          return;
        }
      }
      if (mine !== generation) return;
      if (project) {
        progress?.report(`analysing ${project.app.map((a) => basename(a)).join(' ')}`);
        try {
          const r = await workspace.useProject(project, (m) => progress?.report(m));
          lastAnalysis = `${r.report.counts.enabled} options on for ${basename(project.app[0] ?? '')}`;
          log(lastAnalysis);
        } catch (e) {
          const message = `${PROJECT_FILE}: ${(e as Error).message}`;
          projectDiagnostics.push({ range: lineRange(0), severity: DiagnosticSeverity.Error, source: 'ukl-trim', message });
          if (projectFile) void connection.sendDiagnostics({ uri: pathToFileURL(projectFile).href, diagnostics: projectDiagnostics }).catch(() => {});
          notify(MessageType.Warning, `ukl-trim: ${message}`);
          workspace.useTreeConfig();
        }
      } else workspace.useTreeConfig();
      for (const d of documents.all()) publish(d);
      if (lensRefresh) void connection.sendRequest(CodeLensRefreshRequest.type).catch(() => {});
    } catch (e) {
      notify(MessageType.Error, `ukl-trim: ${(e as Error).message}`);
    } finally {
      progress?.done();
    }
  }

  async function ready(): Promise<KernelWorkspace | undefined> {
    if (loading) await loading.catch(() => {});
    return workspace;
  }

  function lineRange(line: number, start = 0, end = 1000): { start: { line: number; character: number }; end: { line: number; character: number } } {
    return { start: { line, character: start }, end: { line, character: end } };
  }

  function pathOf(uri: string): string | undefined {
    try {
      return uri.startsWith('file:') ? fileURLToPath(uri) : undefined;
    } catch {
      return undefined;
    }
  }

  function isDotConfig(path: string): boolean {
    const b = basename(path);
    return b === '.config' || b.endsWith('.config') || b === 'defconfig' || b.endsWith('_defconfig');
  }

  function diagnosticsFor(doc: TextDocument): Diagnostic[] {
    const ws = workspace;
    const path = pathOf(doc.uri);
    if (!ws || !path) return [];
    if (projectFile && path === projectFile) return projectDiagnostics;
    const view = ws.current;
    const who = view.source === 'project' ? `the app (${project ? basename(project.app[0] ?? '') : ''})` : view.source === 'dot-config' ? 'the tree\'s .config' : 'the default configuration';
    const rel = ws.rel(path);
    const out: Diagnostic[] = [];
    if (rel && ws.isKconfigFile(rel)) {
      for (const e of ws.entries(rel)) {
        if (ws.isOn(e.name)) continue;
        const s = ws.kc.symbol(e.name);
        if (!s || (s.type !== 'bool' && s.type !== 'tristate')) continue;
        out.push({ range: lineRange(e.line), severity: DiagnosticSeverity.Hint, tags: [DiagnosticTag.Unnecessary], source: 'ukl-trim', message: `${e.name} is not needed by ${who}: off in the trimmed configuration` });
      }
      return out;
    }
    if (isDotConfig(path)) {
      const lines = doc.getText().split('\n');
      lines.forEach((text, i) => {
        const m = /^CONFIG_(\w+)=(y|m)$/.exec(text);
        if (!m) return;
        const name = m[1] as string;
        if (view.source === 'project' && !ws.isOn(name)) {
          out.push({ range: lineRange(i), severity: DiagnosticSeverity.Hint, tags: [DiagnosticTag.Unnecessary], source: 'ukl-trim', message: `${name}: unused by ${who}`, data: { symbol: name } });
        } else if (view.reasons) {
          const chain = ws.reasonLines(name);
          if (chain?.length) out.push({ range: lineRange(i), severity: DiagnosticSeverity.Information, source: 'ukl-trim', message: chain.join('\n'), data: { symbol: name, needed: true } });
        }
      });
      return out;
    }
    if (rel && /\.[cSh]$/.test(rel)) {
      const b = ws.fileBuilt(rel);
      if (b && !b.built) {
        const last = doc.lineCount - 1;
        out.push({ range: { start: { line: 0, character: 0 }, end: { line: last, character: 1000 } }, severity: DiagnosticSeverity.Hint, tags: [DiagnosticTag.Unnecessary], source: 'ukl-trim', message: `not built under ${who}: needs ${b.condition}` });
        return out;
      }
      for (const r of ws.inactiveRegions(doc.getText())) {
        out.push({ range: { start: { line: r.startLine, character: 0 }, end: { line: r.endLine, character: 1000 } }, severity: DiagnosticSeverity.Hint, tags: [DiagnosticTag.Unnecessary], source: 'ukl-trim', message: `compiled out under ${who}: ${r.condition}` });
      }
      return out;
    }
    if (rel && /(^|\/)(Makefile|Kbuild)$/.test(rel)) {
      const dir = dirname(rel) === '.' ? '' : dirname(rel);
      const b = ws.dirBuilt(dir);
      if (b && !b.built) out.push({ range: { start: { line: 0, character: 0 }, end: { line: doc.lineCount - 1, character: 1000 } }, severity: DiagnosticSeverity.Hint, tags: [DiagnosticTag.Unnecessary], source: 'ukl-trim', message: `directory not built under ${who}: needs ${b.condition}` });
    }
    return out;
  }

  function publish(doc: TextDocument): void {
    try {
      void connection.sendDiagnostics({ uri: doc.uri, diagnostics: diagnosticsFor(doc) }).catch(() => {});
    } catch (e) {
      log(`diagnostics for ${doc.uri} failed: ${(e as Error).message}`);
    }
  }

  documents.onDidOpen(async (e) => {
    await ready();
    publish(e.document);
  });
  documents.onDidChangeContent(async (e) => {
    const path = pathOf(e.document.uri);
    if (projectFile && path === projectFile) {
      // typing in the project file: re-analyse once the edits pause
      clearTimeout(editTimer);
      editTimer = setTimeout(() => {
        loading = reload(`${PROJECT_FILE} changed`);
      }, 400);
      return;
    }
    await ready();
    publish(e.document);
  });
  documents.onDidSave((e) => {
    const path = pathOf(e.document.uri);
    if (path && basename(path) === PROJECT_FILE) loading = reload(`${PROJECT_FILE} saved`);
  });

  connection.onDidChangeWatchedFiles((p) => {
    const relevant = p.changes.some((c) => {
      const path = pathOf(c.uri);
      if (!path) return false;
      if (basename(path) === PROJECT_FILE) return true;
      return c.type !== FileChangeType.Deleted && project?.app.includes(path) === true;
    });
    if (relevant) loading = reload('the app or the project changed');
  });

  connection.onExecuteCommand((p) => {
    if (p.command === 'ukl-trim.reanalyze') loading = reload('re-analysis requested');
  });

  function wordAt(doc: TextDocument, line: number, character: number): string | undefined {
    const text = doc.getText({ start: { line, character: 0 }, end: { line, character: 10_000 } });
    const re = /[A-Za-z0-9_]+/g;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      if (m.index <= character && character <= m.index + m[0].length) return m[0].replace(/^CONFIG_/, '');
    }
    return undefined;
  }

  // the libc summary for the app's libc: made once (about a second for glibc), then cached on disk
  let libcSummary: { libc: string; summary: Promise<LibcSummary | null> } | undefined;
  const summaryFor = (libc: string, tree: string): Promise<LibcSummary | null> => {
    if (libcSummary?.libc !== libc) {
      libcSummary = {
        libc,
        summary: Promise.resolve().then(() => {
          try {
            return summarizeLibc(libc, { kernelTree: tree });
          } catch {
            return null; // no toolchain or a libc.a that cannot be read: no libc hovers
          }
        }),
      };
    }
    return libcSummary.summary;
  };

  /** in the app's sources: what a libc call reaches on its own, and the options those syscalls need */
  async function libcHover(ws: KernelWorkspace, path: string, name: string): Promise<Hover | null> {
    if (!project || !appSourceDirs(project).includes(dirname(path)) || !/\.(c|h)$/.test(path)) return null;
    const libc = project.settings.libc ?? 'glibc';
    const summary = await summaryFor(libc, ws.tree);
    const hit = summary === null ? undefined : summaryEntry(summary, name);
    if (summary === null || hit === undefined) return null;
    const { entry } = hit;
    const nameOf = (nr: number): string => summary.syscallNames[String(nr)] ?? `syscall_${nr}`;
    const needs = new Map<string, string>();
    for (const r of ws.current.requirements) if (r.kind === 'syscall' && r.expression !== 'y') needs.set(r.detail, r.expression);
    const parts = [
      `**${name}** (${libc}${hit.name !== name ? `, \`${hit.name}\`` : ''}): ${entry.syscalls.length} syscalls on its own`,
      entry.syscalls.map((nr) => (needs.has(nameOf(nr)) ? `${nameOf(nr)} → \`${needs.get(nameOf(nr))}\`` : nameOf(nr))).join(', '),
    ];
    if (entry.indirect) parts.push('an indirect call is reachable: whatever it calls comes on top');
    if (entry.unknown) parts.push('a syscall site with an unknown number is reachable (may be any syscall)');
    return { contents: { kind: 'markdown', value: parts.join('\n\n') } };
  }

  connection.onHover(async (p): Promise<Hover | null> => {
    const ws = await ready();
    const doc = documents.get(p.textDocument.uri);
    if (!ws || !doc) return null;
    const name = wordAt(doc, p.position.line, p.position.character);
    if (!name) return null;
    const path = pathOf(p.textDocument.uri);
    if (path !== undefined && !path.endsWith('Kconfig') && !ws.isKconfigFile(ws.rel(path) ?? '')) {
      const hover = await libcHover(ws, path, name);
      if (hover !== null) return hover;
    }
    const s = ws.kc.symbol(name);
    if (!s || s.menus.length === 0) return null;
    const x = explainSymbol(ws.kc, name);
    if (!x) return null;
    const parts = [`**${name}** (${x.type}) = \`${x.value}\`${x.prompts.length ? ` — ${x.prompts[0]}` : ''}`, `visible: ${x.visible}; depends on: \`${x.dependsOn.expression || 'nothing'}\` (${x.dependsOn.value})`];
    const d = x.defaults.find((q) => q.active) ?? x.defaults[0];
    if (d) parts.push(`default: \`${d.value}\`${d.condition && d.condition !== 'y' ? ` if \`${d.condition}\`` : ''}`);
    if (x.selectedBy.length) parts.push(`selected by: ${x.selectedBy.map((r) => `${r.by} (${r.value})`).join(', ')}`);
    if (x.impliedBy.length) parts.push(`implied by: ${x.impliedBy.map((r) => `${r.by} (${r.value})`).join(', ')}`);
    const chain = ws.reasonLines(name);
    if (chain && chain.length) parts.push(`**needed:**\n\n${chain.map((c, i) => `${'  '.repeat(i)}- ${c}`).join('\n')}`);
    else if (chain) parts.push(`**unused**: nothing the app or its boot needs depends on ${name}`);
    if (x.blockingDependencies.length) parts.push(`kept off by: ${x.blockingDependencies.map((b) => `\`${b}\``).join(', ')}`);
    parts.push(`defined at ${x.definedAt.join(', ')}`);
    return { contents: { kind: 'markdown', value: parts.join('\n\n') } };
  });

  const toLsp = (l: { file: string; line: number }): LspLocation => ({ uri: pathToFileURL(l.file).href, range: lineRange(l.line, 0, 0) });

  connection.onDefinition(async (p) => {
    const ws = await ready();
    const doc = documents.get(p.textDocument.uri);
    if (!ws || !doc) return null;
    const name = wordAt(doc, p.position.line, p.position.character);
    return name ? ws.definitions(name).map(toLsp) : null;
  });

  connection.onReferences(async (p) => {
    const ws = await ready();
    const doc = documents.get(p.textDocument.uri);
    if (!ws || !doc) return null;
    const name = wordAt(doc, p.position.line, p.position.character);
    if (!name || !ws.kc.symbol(name)) return null;
    return ws.references(name, p.context.includeDeclaration).map(toLsp);
  });

  connection.onCodeLens(async (p): Promise<CodeLens[]> => {
    const ws = await ready();
    const doc = documents.get(p.textDocument.uri);
    const path = pathOf(p.textDocument.uri);
    if (!ws || !doc || !path) return [];
    const rel = ws.rel(path);
    if (rel && ws.isKconfigFile(rel)) {
      return ws.menus(rel).map((m) => ({ range: lineRange(m.line, 0, 0), command: { title: `${m.needed} of ${m.total} options needed`, command: '' } }));
    }
    // the app's own sources: calls on a witness path pull options in
    const view = ws.current;
    if (!project || view.source !== 'project' || !appSourceDirs(project).includes(dirname(path)) || !path.endsWith('.c')) return [];
    const byFunction = new Map<string, Set<string>>();
    for (const r of view.requirements) {
      if (r.kind !== 'syscall' || !r.path) continue;
      for (const fn of r.path.slice(1)) {
        const set = byFunction.get(fn) ?? new Set();
        set.add(`${r.expression} (syscall ${r.detail})`);
        byFunction.set(fn, set);
      }
    }
    const lenses: CodeLens[] = [];
    doc
      .getText()
      .split('\n')
      .forEach((text, line) => {
        const code = text.replace(/\/\/.*$/, '');
        for (const m of code.matchAll(/\b([A-Za-z_]\w*)\s*\(/g)) {
          const pulls = byFunction.get(m[1] as string);
          if (!pulls || /^\s*(static\s+)?[\w\s*]+\b\w+\s*\([^;]*\)\s*\{?\s*$/.test(code) && !code.includes(';')) continue;
          lenses.push({ range: { start: { line, character: m.index ?? 0 }, end: { line, character: (m.index ?? 0) + (m[1] as string).length } }, command: { title: `pulls in ${[...pulls].slice(0, 3).join(', ')}`, command: '' } });
        }
      });
    return lenses;
  });

  connection.onCodeAction(async (p): Promise<CodeAction[]> => {
    const ws = await ready();
    const doc = documents.get(p.textDocument.uri);
    const path = pathOf(p.textDocument.uri);
    if (!ws || !doc || !path || !isDotConfig(path)) return [];
    const actions: CodeAction[] = [];
    for (const d of p.context.diagnostics) {
      const data = d.data as { symbol?: string; needed?: boolean } | undefined;
      if (!data?.symbol || data.needed) continue;
      actions.push({
        title: `Disable ${data.symbol} (unused)`,
        kind: CodeActionKind.QuickFix,
        diagnostics: [d],
        edit: { changes: { [p.textDocument.uri]: [{ range: lineRange(d.range.start.line, 0, doc.getText(lineRange(d.range.start.line)).length), newText: `# CONFIG_${data.symbol} is not set` }] } },
      });
    }
    const result = ws.current.result;
    if (result) {
      actions.push({
        title: 'Write the minimal configuration (ukl-trim)',
        kind: CodeActionKind.Source,
        edit: { changes: { [p.textDocument.uri]: [{ range: { start: { line: 0, character: 0 }, end: { line: doc.lineCount, character: 0 } }, newText: result.config }] } },
      });
    }
    return actions;
  });

  documents.listen(connection);
  connection.listen();
}
