import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';

export const CLI = fileURLToPath(new URL('../../bin/ukl-trim.js', import.meta.url));

export interface Diag {
  range: { start: { line: number; character: number }; end: { line: number; character: number } };
  severity?: number;
  tags?: number[];
  message: string;
  data?: unknown;
}

/** A JSON-RPC client driving `ukl-trim lsp --stdio` as a child process, as an editor would. */
export class LspClient {
  readonly diagnostics = new Map<string, Diag[]>();
  readonly messages: Array<{ type: number; message: string }> = [];
  readonly progress: unknown[] = [];
  private readonly child: ChildProcess;
  readonly rpc: MessageConnection;
  stderr = '';

  constructor(env: NodeJS.ProcessEnv = process.env) {
    this.child = spawn(process.execPath, [CLI, 'lsp', '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'], env });
    this.child.stderr?.on('data', (b: Buffer) => (this.stderr += b.toString()));
    this.rpc = createMessageConnection(new StreamMessageReader(this.child.stdout as NodeJS.ReadableStream), new StreamMessageWriter(this.child.stdin as NodeJS.WritableStream));
    this.rpc.onNotification('textDocument/publishDiagnostics', (p: { uri: string; diagnostics: Diag[] }) => {
      this.diagnostics.set(p.uri, p.diagnostics);
    });
    this.rpc.onNotification('window/showMessage', (p: { type: number; message: string }) => {
      this.messages.push(p);
    });
    this.rpc.onNotification('$/progress', (p: unknown) => {
      this.progress.push(p);
    });
    this.rpc.onRequest('window/workDoneProgress/create', () => null);
    this.rpc.onRequest('client/registerCapability', () => null);
    this.rpc.onRequest('workspace/codeLens/refresh', () => null);
    this.rpc.listen();
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async initialize(folders: string[]): Promise<unknown> {
    const r = await this.rpc.sendRequest('initialize', {
      processId: process.pid,
      rootUri: pathToFileURL(folders[0] as string).href,
      workspaceFolders: folders.map((f) => ({ uri: pathToFileURL(f).href, name: f })),
      capabilities: { window: { workDoneProgress: true }, workspace: { didChangeWatchedFiles: { dynamicRegistration: true } } },
    });
    await this.rpc.sendNotification('initialized', {});
    return r;
  }

  async open(path: string, text: string, languageId = 'plaintext'): Promise<string> {
    const uri = pathToFileURL(path).href;
    await this.rpc.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId, version: 1, text } });
    return uri;
  }

  /** Wait until diagnostics for the uri arrive (and satisfy `until`, if given). */
  async diagnosticsFor(uri: string, timeoutMs: number, until: (d: Diag[]) => boolean = () => true): Promise<Diag[]> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const d = this.diagnostics.get(uri);
      if (d && until(d)) return d;
      if (!this.alive) throw new Error(`server exited: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no diagnostics for ${uri} within ${timeoutMs} ms (stderr: ${this.stderr.slice(-2000)})`);
  }

  request<T>(method: string, params: unknown): Promise<T> {
    return this.rpc.sendRequest(method, params) as Promise<T>;
  }

  async close(): Promise<void> {
    try {
      await Promise.race([this.rpc.sendRequest('shutdown'), new Promise((r) => setTimeout(r, 5000))]);
      await this.rpc.sendNotification('exit');
    } catch {
      // already gone
    }
    await new Promise((r) => setTimeout(r, 200));
    if (this.alive) this.child.kill('SIGKILL');
    this.rpc.dispose();
  }
}
