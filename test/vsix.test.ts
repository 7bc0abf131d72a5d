import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { HANDLED_FILES, WATCHED_FILES } from '../src/lsp/handled-files.js';

/** The VS Code extension is packaged into a .vsix by scripts/package-vsix.sh, and its manifest holds. */
const canPackage = spawnSync('unzip', ['-v']).status === 0 || process.env.CI === 'true';
const unzip = (entry: string): string => spawnSync('unzip', ['-p', 'out/ukl-trim.vsix', entry], { encoding: 'utf8' }).stdout;

describe.skipIf(!canPackage)('editors/vscode → out/ukl-trim.vsix', () => {
  beforeAll(() => {
    const r = spawnSync('bash', ['scripts/package-vsix.sh'], { encoding: 'utf8', timeout: 300_000 });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
  }, 600_000);

  it('packages, and the manifest starts the language server for Kconfig, .config and sources', () => {
    expect(existsSync('out/ukl-trim.vsix')).toBe(true);
    const list = spawnSync('unzip', ['-l', 'out/ukl-trim.vsix'], { encoding: 'utf8' }).stdout;
    expect(list).toContain('extension/dist/extension.js');
    expect(list).toContain('extension/node_modules/vscode-languageclient/');
    expect(list).not.toContain('extension/src/extension.ts');
    const manifest = JSON.parse(unzip('extension/package.json')) as Record<string, unknown>;
    expect(manifest).toMatchObject({ name: 'ukl-trim', main: './dist/extension.js', engines: { vscode: expect.stringMatching(/^\^1\./) } });
    expect(manifest.activationEvents).toEqual(expect.arrayContaining(['workspaceContains:Kconfig', 'workspaceContains:ukl-trim.json']));
    const contributes = manifest.contributes as { languages: Array<{ id: string }>; commands: Array<{ command: string }> };
    expect(contributes.languages.map((l) => l.id)).toContain('kconfig');
    expect(contributes.commands.map((c) => c.command)).toContain('ukl-trim.reanalyze');
    expect(unzip('extension.vsixmanifest')).toMatch(/<Identity[^>]*Id="ukl-trim"[^>]*Publisher="ukl-trim"/);
  });

  it("hands the server the server's own list of files (src/lsp/handled-files.ts, copied by the build)", () => {
    expect(unzip('extension/dist/extension.js')).toContain('require("./generated/handled-files")');
    const copy = join(mkdtempSync(join(tmpdir(), 'ukl-vsix-')), 'handled-files.cjs');
    writeFileSync(copy, unzip('extension/dist/generated/handled-files.js'));
    const packaged = createRequire(import.meta.url)(copy) as { HANDLED_FILES: unknown; WATCHED_FILES: unknown };
    expect(packaged.HANDLED_FILES).toEqual(HANDLED_FILES);
    expect(packaged.WATCHED_FILES).toEqual(WATCHED_FILES);
  });
});
