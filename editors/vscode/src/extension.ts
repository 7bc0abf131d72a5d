import * as vscode from 'vscode';
import { LanguageClient, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';
import { HANDLED_FILES, WATCHED_FILES } from './generated/handled-files';

/**
 * Starts `ukl-trim lsp --stdio` for the workspace (a kernel tree, and the app's folder with its
 * ukl-trim.json). Everything the editor shows comes from the server; this file only wires it up.
 * The files it hands the server are the server's own list (src/lsp/handled-files.ts).
 */
let client: LanguageClient | undefined;

export async function activate(_context: vscode.ExtensionContext): Promise<void> {
  const config = vscode.workspace.getConfiguration('ukl-trim');
  const command = config.get<string>('server.command', 'ukl-trim');
  const args = [...config.get<string[]>('server.args', []), 'lsp', '--stdio'];
  const serverOptions: ServerOptions = { run: { command, args }, debug: { command, args } };
  const clientOptions: LanguageClientOptions = {
    documentSelector: Object.values(HANDLED_FILES)
      .flat()
      .map((name) => ({ scheme: 'file', pattern: `**/${name}` })),
    synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher(`**/{${WATCHED_FILES.join(',')}}`) },
  };
  client = new LanguageClient('ukl-trim', 'ukl-trim', serverOptions, clientOptions);
  // `ukl-trim.reanalyze` (contributed in package.json) is not registered here: the server lists
  // it in executeCommandProvider and the client registers it from that, forwarding it as
  // workspace/executeCommand. A second registration fails activation ("command already exists").
  await client.start();
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
