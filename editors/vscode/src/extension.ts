import * as vscode from 'vscode';
import { LanguageClient, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';

/**
 * Starts `ukl-trim lsp --stdio` for the workspace (a kernel tree, and the app's folder with its
 * ukl-trim.json). Everything the editor shows comes from the server; this file only wires it up.
 */
let client: LanguageClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const config = vscode.workspace.getConfiguration('ukl-trim');
  const command = config.get<string>('server.command', 'ukl-trim');
  const args = [...config.get<string[]>('server.args', []), 'lsp', '--stdio'];
  const serverOptions: ServerOptions = { run: { command, args }, debug: { command, args } };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'kconfig' },
      { scheme: 'file', pattern: '**/Kconfig*' },
      { scheme: 'file', pattern: '**/{.config,*.config,*defconfig}' },
      { scheme: 'file', pattern: '**/{Makefile,Kbuild}' },
      { scheme: 'file', language: 'c' },
      { scheme: 'file', pattern: '**/*.S' },
      { scheme: 'file', pattern: '**/ukl-trim.json' },
    ],
    synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher('**/{ukl-trim.json,*.o,*.a,*.bc}') },
  };
  client = new LanguageClient('ukl-trim', 'ukl-trim', serverOptions, clientOptions);
  context.subscriptions.push(
    vscode.commands.registerCommand('ukl-trim.reanalyze', () => client?.sendRequest('workspace/executeCommand', { command: 'ukl-trim.reanalyze', arguments: [] })),
  );
  await client.start();
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
