import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { startLanguageServer } from '../lsp/server.js';
import { UsageError, type CliIO } from './common.js';

export const LSP_USAGE = `usage: ukl-trim lsp [--stdio]
  a language server over stdin/stdout for any LSP editor: Kconfig files show what the app of the
  workspace's ukl-trim.json leaves unused, with reasons on hover; see editors/vscode for VS Code`;

/** Runs until the client disconnects; stdout belongs to the protocol from here on. */
export async function runLsp(argv: string[], io: CliIO): Promise<number> {
  for (const a of argv) {
    if (a === '--help' || a === '-h') {
      io.out(LSP_USAGE);
      return 0;
    }
    if (a !== '--stdio') throw new UsageError(`lsp: unknown option ${a}; see 'ukl-trim lsp --help'`);
  }
  const connection = createConnection(ProposedFeatures.all, process.stdin, process.stdout);
  // a language server must outlive its own bugs: log them to the client instead of exiting
  process.on('unhandledRejection', (e) => connection.console.error(`ukl-trim: unhandled: ${(e as Error)?.stack ?? String(e)}`));
  process.on('uncaughtException', (e) => connection.console.error(`ukl-trim: uncaught: ${e.stack ?? String(e)}`));
  startLanguageServer(connection);
  await new Promise<void>((resolve) => connection.onExit(() => resolve()));
  return 0;
}
