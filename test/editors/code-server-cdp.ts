import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { headlessArgs } from '../helpers/chromium.js';

/**
 * Headless Chromium (Debian's `chromium`) driven through the DevTools protocol over
 * --remote-debugging-pipe: requests go to the browser's fd 3 and replies come from its fd 4,
 * one JSON message each, ended by a NUL byte. No WebSocket (Node 20 has none without a flag)
 * and no npm package in between.
 */

interface Reply {
  id?: number;
  method?: string;
  sessionId?: string;
  result?: unknown;
  error?: { message: string };
}

export class Chromium {
  private readonly pending = new Map<number, { method: string; resolve: (r: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private buffered = Buffer.alloc(0);
  private stderr = '';
  private exited = false;

  private constructor(
    private readonly child: ChildProcess,
    private readonly profile: string,
  ) {
    const fromBrowser = child.stdio[4] as Readable;
    fromBrowser.on('data', (chunk: Buffer) => this.receive(chunk));
    child.stderr?.on('data', (b: Buffer) => (this.stderr = (this.stderr + b.toString()).slice(-4000)));
    child.on('exit', () => {
      this.exited = true;
      for (const p of this.pending.values()) p.reject(new Error(`chromium exited during ${p.method}: ${this.stderr}`));
      this.pending.clear();
    });
  }

  static launch(width: number, height: number): Chromium {
    const profile = mkdtempSync(join(tmpdir(), 'ukl-cdp-'));
    const args = [...headlessArgs(profile, width, height), '--remote-debugging-pipe', 'about:blank'];
    const child = spawn('chromium', args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'], detached: true });
    return new Chromium(child, profile);
  }

  private receive(chunk: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    for (let end = this.buffered.indexOf(0); end >= 0; end = this.buffered.indexOf(0)) {
      const message = JSON.parse(this.buffered.subarray(0, end).toString('utf8')) as Reply;
      this.buffered = this.buffered.subarray(end + 1);
      if (message.id === undefined) continue;
      const waiting = this.pending.get(message.id);
      if (!waiting) continue;
      this.pending.delete(message.id);
      if (message.error) waiting.reject(new Error(`${waiting.method}: ${message.error.message}`));
      else waiting.resolve(message.result);
    }
  }

  send<T>(method: string, params: object = {}, sessionId?: string): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`chromium is gone (${method}): ${this.stderr}`));
    const id = ++this.nextId;
    const message = sessionId === undefined ? { id, method, params } : { id, method, params, sessionId };
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { method, resolve: resolve as (r: unknown) => void, reject });
      (this.child.stdio[3] as Writable).write(`${JSON.stringify(message)}\0`);
    });
  }

  /** the tab Chromium opened with, attached */
  async firstPage(width: number, height: number): Promise<Page> {
    const { targetInfos } = await this.send<{ targetInfos: Array<{ targetId: string; type: string }> }>('Target.getTargets');
    const target = targetInfos.find((t) => t.type === 'page');
    if (!target) throw new Error('chromium has no page');
    const { sessionId } = await this.send<{ sessionId: string }>('Target.attachToTarget', { targetId: target.targetId, flatten: true });
    const page = new Page(this, sessionId);
    await page.send('Runtime.enable');
    await page.send('Page.enable');
    await page.send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false });
    return page;
  }

  async close(): Promise<void> {
    if (!this.exited) {
      const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      await Promise.race([this.send('Browser.close').catch(() => undefined), new Promise((r) => setTimeout(r, 5000))]);
      await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
      // what is left of the browser's own processes, by its process group
      if (!this.exited && this.child.pid !== undefined) process.kill(-this.child.pid, 'SIGKILL');
    }
    rmSync(this.profile, { recursive: true, force: true });
  }
}

const KEYS: Record<string, { code: string; keyCode: number }> = {
  Enter: { code: 'Enter', keyCode: 13 },
  Escape: { code: 'Escape', keyCode: 27 },
  p: { code: 'KeyP', keyCode: 80 },
  g: { code: 'KeyG', keyCode: 71 },
};
const CTRL = 2;

export class Page {
  constructor(
    private readonly browser: Chromium,
    private readonly sessionId: string,
  ) {}

  send<T>(method: string, params: object = {}): Promise<T> {
    return this.browser.send<T>(method, params, this.sessionId);
  }

  /** the value of a JavaScript expression in the page (a string: it runs there, not here) */
  async evaluate<T>(expression: string): Promise<T> {
    const r = await this.send<{ result: { value?: T }; exceptionDetails?: { exception?: { description?: string }; text: string } }>('Runtime.evaluate', {
      expression,
      returnByValue: true,
      awaitPromise: true,
    });
    if (r.exceptionDetails) throw new Error(`in the page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
    return r.result.value as T;
  }

  async navigate(url: string): Promise<void> {
    await this.send('Page.navigate', { url });
  }

  async press(key: keyof typeof KEYS, ctrl = false): Promise<void> {
    const { code, keyCode } = KEYS[key] as { code: string; keyCode: number };
    const modifiers = ctrl ? CTRL : 0;
    await this.send('Input.dispatchKeyEvent', { type: 'keyDown', key, code, windowsVirtualKeyCode: keyCode, modifiers });
    await this.send('Input.dispatchKeyEvent', { type: 'keyUp', key, code, windowsVirtualKeyCode: keyCode, modifiers });
  }

  async type(text: string): Promise<void> {
    await this.send('Input.insertText', { text });
  }

  async mouseMove(x: number, y: number): Promise<void> {
    await this.send('Input.dispatchMouseEvent', { type: 'mouseMoved', x, y });
  }

  async screenshot(png: string): Promise<void> {
    const { data } = await this.send<{ data: string }>('Page.captureScreenshot', { format: 'png' });
    writeFileSync(png, Buffer.from(data, 'base64'));
  }

  /** poll an expression until it gives something truthy; its last value is in the error */
  async waitFor<T>(expression: string, what: string, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: T | undefined;
    for (;;) {
      last = await this.evaluate<T>(expression);
      if (last) return last;
      if (Date.now() > deadline) throw new Error(`waited ${timeoutMs / 1000} s for ${what}; last: ${JSON.stringify(last)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
