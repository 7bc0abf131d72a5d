import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { changedOptions, writeSyncconfigFiles, type SyncconfigFiles } from '../src/kconfig/sync-files.js';
import { synchroniseConfig } from '../src/build/sync-config.js';

const files = (autoConf: string, config = '# a config\n'): SyncconfigFiles => ({ config, autoConf, autoconfH: '/* h */\n', rustcCfg: '--cfg=x\n', autoConfCmd: 'deps_config := \\\n' });

describe('writing what syncconfig leaves in an object tree', () => {
  it('finds the options whose auto.conf values differ, set or gone', () => {
    const before = '#\n# Automatically generated file; DO NOT EDIT.\nCONFIG_A=y\nCONFIG_B=y\nCONFIG_S=old text\nCONFIG_N=1\n';
    const after = '#\nCONFIG_A=y\nCONFIG_C=m\nCONFIG_S=new text\nCONFIG_N=1\n';
    expect(changedOptions(before, after)).toEqual(['B', 'C', 'S']);
    expect(changedOptions('', 'CONFIG_A=y\n')).toEqual(['A']);
    expect(changedOptions('FOO_A=y\n', 'FOO_A=n\n', 'FOO_')).toEqual(['A']);
    // nothing that is not a symbol name becomes a file name
    expect(changedOptions('CONFIG_../x=y\n', '')).toEqual([]);
  });

  it('touches only changed options, keeps the old .config, writes auto.conf last', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ukl-sync-'));
    const first = writeSyncconfigFiles(dir, files('CONFIG_A=y\nCONFIG_B=y\n', 'CONFIG_A=y\nCONFIG_B=y\n'));
    expect(first).toEqual({ configChanged: true, touched: ['A', 'B'] });
    const second = writeSyncconfigFiles(dir, files('CONFIG_A=y\n', 'CONFIG_A=y\n'));
    expect(second).toEqual({ configChanged: true, touched: ['B'] });
    expect(readFileSync(join(dir, '.config.old'), 'utf8')).toBe('CONFIG_A=y\nCONFIG_B=y\n');
    // B's file stays (conf never deletes them): it was touched, so what tests B is rebuilt
    expect(existsSync(join(dir, 'include', 'config', 'B'))).toBe(true);
    const time = (f: string): bigint => statSync(join(dir, f), { bigint: true }).mtimeNs;
    expect(time('include/config/auto.conf')).toBeGreaterThanOrEqual(time('include/generated/autoconf.h'));
    expect(time('include/config/auto.conf')).toBeGreaterThanOrEqual(time('.config'));
    const third = writeSyncconfigFiles(dir, files('CONFIG_A=y\n', 'CONFIG_A=y\n'));
    expect(third).toEqual({ configChanged: false, touched: [] });
  });

  it("leaves the step to make's conf when asked to, or when the engine cannot load the tree", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ukl-sync-conf-'));
    const notATree = join(dir, 'tree');
    mkdirSync(notATree);
    writeFileSync(join(notATree, 'Kconfig'), 'config A\n\tbool "a"\n');
    const out = join(dir, 'out');
    mkdirSync(out);
    const r = await synchroniseConfig({ tree: notATree, arch: 'x86_64', outDir: out, config: 'CONFIG_A=y\n' });
    expect(r.synced).toBe(false);
    expect(r.line).toMatch(/^ukl-trim: make's conf synchronises the configuration \(the engine could not load the tree's Kconfig: /);
    expect(readFileSync(join(out, '.config'), 'utf8')).toBe('CONFIG_A=y\n');
    process.env.UKL_TRIM_SYNCCONFIG = 'conf';
    try {
      expect((await synchroniseConfig({ tree: notATree, arch: 'x86_64', outDir: out, config: 'CONFIG_A=y\n' })).line).toMatch(/UKL_TRIM_SYNCCONFIG=conf/);
    } finally {
      delete process.env.UKL_TRIM_SYNCCONFIG;
    }
  });
});
