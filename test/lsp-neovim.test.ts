import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kernelTreeForTests } from '../src/kconfig/oracle.js';
import { CLI } from './helpers/lsp-client.js';

/**
 * A real editor: headless Neovim starts `ukl-trim lsp` with its built-in LSP client, opens a
 * Kconfig file of the tree and the example's .config, and the diagnostics are read back through
 * Neovim's Lua API (test/editors/nvim-lsp.lua).
 */
const tree = kernelTreeForTests();
const hasNvim = spawnSync('nvim', ['--version']).status === 0;
const available = (tree !== null && hasNvim) || process.env.CI === 'true';

describe.skipIf(!available)('headless Neovim as the LSP client', () => {
  it('shows the unused hints in net/Kconfig and the notes on the example .config', () => {
    if (!tree) throw new Error('no kernel tree (UKL_TRIM_KERNEL)');
    const app = mkdtempSync(join(tmpdir(), 'ukl-nvim-app-'));
    copyFileSync('examples/echo-server/echo.c', join(app, 'echo.c'));
    const cc = spawnSync('gcc', ['-static', '-O2', '-o', join(app, 'echo'), join(app, 'echo.c')], { encoding: 'utf8' });
    expect(cc.status, cc.stderr).toBe(0);
    writeFileSync(join(app, 'ukl-trim.json'), JSON.stringify({ app: 'echo', kernel: tree }));
    writeFileSync(join(app, 'echo.config'), 'CONFIG_EPOLL=y\nCONFIG_IPV6=y\n');
    const out = join(app, 'diagnostics.json');
    const r = spawnSync('nvim', ['--headless', '-u', 'NONE', '-i', 'NONE', '-n', '-c', `luafile ${resolve('test/editors/nvim-lsp.lua')}`], {
      encoding: 'utf8',
      timeout: 600_000,
      env: {
        ...process.env,
        UKL_NVIM_TREE: tree,
        UKL_NVIM_APP: app,
        UKL_NVIM_OUT: out,
        UKL_NVIM_NODE: process.execPath,
        UKL_NVIM_CLI: CLI,
        UKL_NVIM_KCONFIG: join(tree, 'net', 'Kconfig'),
        UKL_NVIM_CONFIG: join(app, 'echo.config'),
      },
    });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    const result = JSON.parse(readFileSync(out, 'utf8')) as { client: boolean; files: Array<{ file: string; ok: boolean; diagnostics: Array<{ lnum: number; severity: number; message: string }> }> };
    expect(result.client).toBe(true);
    const [kconfig, config] = result.files;
    expect(kconfig?.ok).toBe(true);
    const netfilter = readFileSync(join(tree, 'net', 'Kconfig'), 'utf8').split('\n').findIndex((l) => l === 'menuconfig NETFILTER');
    expect(kconfig?.diagnostics).toContainEqual({ lnum: netfilter, severity: 4, message: expect.stringMatching(/^NETFILTER is not needed by the app/) });
    expect(kconfig?.diagnostics.some((d) => d.message.startsWith('INET '))).toBe(false);
    expect(config?.ok).toBe(true);
    expect(config?.diagnostics).toContainEqual({ lnum: 1, severity: 4, message: expect.stringMatching(/^IPV6: unused/) });
    expect(config?.diagnostics).toContainEqual({ lnum: 0, severity: 3, message: expect.stringMatching(/^EPOLL: required by syscall epoll_/) });
  }, 600_000);
});
