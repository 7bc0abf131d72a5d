import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  CodeActionKind,
  CodeLensRefreshRequest,
  DidChangeWatchedFilesNotification,
  FileChangeType,
  ShowMessageNotification,
  TextDocumentSyncKind,
  TextDocuments,
  type Connection,
  type FileEvent,
  type InitializeParams,
  type InitializeResult,
  type MessageType,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { codeActions } from './code-actions.js';
import { diagnosticsFor } from './diagnostics.js';
import { fileKind } from './file-kind.js';
import { PROJECT_FILE, WATCHED_FILES } from './handled-files.js';
import { hoverAt } from './hover.js';
import { codeLenses } from './lenses.js';
import { LibcSummaries } from './libc-summaries.js';
import { definitionsAt, referencesAt } from './navigation.js';
import { pathOf } from './positions.js';
import { findProjectFile, readProject, type Project } from './project.js';
import { Reloader, type ProjectCheck, type ReloadEvents } from './reload.js';
import type { Snapshot } from './snapshot.js';
import { KernelWorkspace } from './workspace.js';

const CAPABILITIES: InitializeResult['capabilities'] = {
  textDocumentSync: TextDocumentSyncKind.Incremental,
  hoverProvider: true,
  definitionProvider: true,
  referencesProvider: true,
  codeLensProvider: { resolveProvider: false },
  codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix, CodeActionKind.Source] },
  executeCommandProvider: { commands: ['ukl-trim.reanalyze'] },
};

/**
 * The language server: the protocol wiring around the features (diagnostics, hover, lenses,
 * code actions, definitions and references: pure functions of a document and the snapshot) and
 * the reloader that makes the snapshot in the background, with progress. Every failure is a
 * diagnostic or a window message: the server itself keeps running.
 */
export function startLanguageServer(connection: Connection): void {
  const documents = new TextDocuments(TextDocument);
  let folders: string[] = [];
  let lensRefresh = false;
  let editTimer: NodeJS.Timeout | undefined;

  const reloader = new Reloader(
    {
      readProject: () => checkProject(folders, (file) => documents.get(pathToFileURL(file).href)?.getText()),
      resolveTree: (project) => KernelWorkspace.resolveTree(folders, project),
      open: (tree, arch) => KernelWorkspace.open(tree, arch),
    },
    reloadEvents(connection, () => documents.all(), publish, () => lensRefresh),
  );
  const reload = (why: string): void => void reloader.reload(why);

  function publish(doc: TextDocument, s: Snapshot): void {
    try {
      void connection.sendDiagnostics({ uri: doc.uri, diagnostics: diagnosticsFor(doc, s) }).catch(() => {});
    } catch (e) {
      connection.console.log(`ukl-trim: diagnostics for ${doc.uri} failed: ${(e as Error).message}`);
    }
  }

  connection.onInitialize((params: InitializeParams): InitializeResult => {
    folders = (params.workspaceFolders ?? []).map((f) => fileURLToPath(f.uri));
    if (!folders.length && params.rootUri) folders = [fileURLToPath(params.rootUri)];
    lensRefresh = params.capabilities.workspace?.codeLens?.refreshSupport === true;
    return { capabilities: CAPABILITIES, serverInfo: { name: 'ukl-trim', version: '0.1.0' } };
  });
  connection.onInitialized(() => {
    const watchers = WATCHED_FILES.map((name) => ({ globPattern: `**/${name}` }));
    void connection.client.register(DidChangeWatchedFilesNotification.type, { watchers }).catch(() => {});
    reload('initial load');
  });

  documents.onDidOpen(async (e) => publish(e.document, await reloader.ready()));
  documents.onDidChangeContent(async (e) => {
    const projectFile = reloader.snapshot.projectFile;
    if (!projectFile || pathOf(e.document.uri) !== projectFile) return publish(e.document, await reloader.ready());
    // typing in the project file: re-analyse once the edits pause
    clearTimeout(editTimer);
    editTimer = setTimeout(() => reload(`${PROJECT_FILE} changed`), 400);
  });
  documents.onDidSave((e) => {
    const path = pathOf(e.document.uri);
    if (path && fileKind(path) === 'project') reload(`${PROJECT_FILE} saved`);
  });
  connection.onDidChangeWatchedFiles((p) => {
    if (p.changes.some((c) => changeMatters(c, reloader.snapshot.project))) reload('the app or the project changed');
  });
  connection.onExecuteCommand((p) => {
    if (p.command === 'ukl-trim.reanalyze') reload('re-analysis requested');
  });

  answerRequests(connection, documents, reloader);
  documents.listen(connection);
  connection.listen();
}

/** Each request is answered by its feature from the document and the snapshot, once reloads have settled. */
function answerRequests(connection: Connection, documents: TextDocuments<TextDocument>, reloader: Reloader): void {
  const libc = new LibcSummaries();
  /** undefined while there is no workspace (no kernel tree yet, or none at all) */
  const ready = async (uri: string): Promise<{ doc: TextDocument; s: Snapshot } | undefined> => {
    const s = await reloader.ready();
    const doc = documents.get(uri);
    return doc && s.workspace ? { doc, s } : undefined;
  };
  connection.onHover(async (p) => {
    const at = await ready(p.textDocument.uri);
    const tree = at?.s.workspace?.tree ?? '';
    return at ? hoverAt(at.doc, p.position, at.s, (libcName) => libc.get(libcName, tree)) : null;
  });
  connection.onDefinition(async (p) => {
    const at = await ready(p.textDocument.uri);
    return at ? definitionsAt(at.doc, p.position, at.s) : null;
  });
  connection.onReferences(async (p) => {
    const at = await ready(p.textDocument.uri);
    return at ? referencesAt(at.doc, p.position, p.context.includeDeclaration, at.s) : null;
  });
  connection.onCodeLens(async (p) => {
    const at = await ready(p.textDocument.uri);
    return at ? codeLenses(at.doc, at.s) : [];
  });
  connection.onCodeAction(async (p) => {
    const at = await ready(p.textDocument.uri);
    return at ? codeActions(at.doc, p.context.diagnostics, at.s) : [];
  });
}

/** The first project file of the folders, checked against the editor's text of it when it is open. */
function checkProject(folders: readonly string[], textOf: (file: string) => string | undefined): ProjectCheck {
  const projectFile = findProjectFile(folders);
  return projectFile ? { projectFile, ...readProject(projectFile, textOf(projectFile)) } : { problems: [] };
}

/** a project file, or one of the app's inputs (re)written */
function changeMatters(change: FileEvent, project: Project | undefined): boolean {
  const path = pathOf(change.uri);
  if (!path) return false;
  if (fileKind(path) === 'project') return true;
  return change.type !== FileChangeType.Deleted && project?.app.includes(path) === true;
}

function reloadEvents(connection: Connection, open: () => TextDocument[], publish: (doc: TextDocument, s: Snapshot) => void, lensRefresh: () => boolean): ReloadEvents {
  return {
    async begin(why) {
      const progress = await connection.window.createWorkDoneProgress().catch(() => undefined);
      progress?.begin('ukl-trim', 0, why, false);
      return { report: (m) => progress?.report(m), done: () => progress?.done() };
    },
    projectChecked(s) {
      if (s.projectFile) void connection.sendDiagnostics({ uri: pathToFileURL(s.projectFile).href, diagnostics: [...s.projectDiagnostics] }).catch(() => {});
    },
    loaded(s) {
      for (const d of open()) publish(d, s);
      if (lensRefresh()) void connection.sendRequest(CodeLensRefreshRequest.type).catch(() => {});
    },
    // a notification, not window/showMessageRequest: every client handles it and nothing waits on it
    message(type: MessageType, message) {
      void connection.sendNotification(ShowMessageNotification.type, { type, message }).catch(() => {});
    },
    log: (m) => connection.console.log(`ukl-trim: ${m}`),
  };
}
