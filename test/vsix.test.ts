import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/** The VS Code extension is packaged into a .vsix by scripts/package-vsix.sh, and its manifest holds. */
const canPackage = spawnSync('unzip', ['-v']).status === 0 || process.env.CI === 'true';

describe.skipIf(!canPackage)('editors/vscode → out/ukl-trim.vsix', () => {
  it('packages, and the manifest starts the language server for Kconfig, .config and sources', () => {
    const r = spawnSync('bash', ['scripts/package-vsix.sh'], { encoding: 'utf8', timeout: 300_000 });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(existsSync('out/ukl-trim.vsix')).toBe(true);
    const list = spawnSync('unzip', ['-l', 'out/ukl-trim.vsix'], { encoding: 'utf8' }).stdout;
    expect(list).toContain('extension/dist/extension.js');
    expect(list).toContain('extension/node_modules/vscode-languageclient/');
    expect(list).not.toContain('extension/src/extension.ts');
    const manifest = JSON.parse(spawnSync('unzip', ['-p', 'out/ukl-trim.vsix', 'extension/package.json'], { encoding: 'utf8' }).stdout) as Record<string, unknown>;
    expect(manifest).toMatchObject({ name: 'ukl-trim', main: './dist/extension.js', engines: { vscode: expect.stringMatching(/^\^1\./) } });
    expect(manifest.activationEvents).toEqual(expect.arrayContaining(['workspaceContains:Kconfig', 'workspaceContains:ukl-trim.json']));
    const contributes = manifest.contributes as { languages: Array<{ id: string }>; commands: Array<{ command: string }> };
    expect(contributes.languages.map((l) => l.id)).toContain('kconfig');
    expect(contributes.commands.map((c) => c.command)).toContain('ukl-trim.reanalyze');
    const xml = spawnSync('unzip', ['-p', 'out/ukl-trim.vsix', 'extension.vsixmanifest'], { encoding: 'utf8' }).stdout;
    expect(xml).toMatch(/<Identity[^>]*Id="ukl-trim"[^>]*Publisher="ukl-trim"/);
  }, 600_000);
});
