import { existsSync, readFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import type { Kconfig } from '../kconfig/kconfig.js';
import { loadKconfigAsync, type LoadedKconfig } from '../kconfig/load.js';
import type { MenuNode } from '../kconfig/model.js';
import { toKconfig, type Cond } from '../kernel/cond.js';
import { KbuildMap, kbuildContextFor } from '../kernel/kbuild.js';
import { isKernelTree, resolveKernelTree } from '../kernel/tree.js';
import { enabledOptions } from '../kconfig/confdata.js';
import { minimizeConfig, type MinimizeResult } from '../minimize/minimize.js';
import { positiveSymbols, reasonChain, type Reason } from '../minimize/reasons.js';
import type { Requirement } from '../minimize/requirements.js';
import { fileKind } from './file-kind.js';
import { conditionToKconfig, inactiveRegions, type InactiveRegion } from './ifdef.js';
import type { Project } from './project.js';
import { SerialQueue } from './serial.js';

export type Minimizer = typeof minimizeConfig;

export interface UseOptions {
  /** false once a newer reload has begun: the job is skipped, or its result dropped */
  isCurrent?: () => boolean;
  onProgress?: (m: string) => void;
}

/**
 * What the editor shows, computed once per project state: the kernel tree's Kconfig, the
 * configuration the views are measured against (the minimised one when there is a project, else
 * the tree's `.config`, else the defaults), which options are on and why, and indexes for
 * definitions, references, menus and Kbuild conditions.
 */
export interface ConfigView {
  source: 'project' | 'dot-config' | 'defaults';
  config: string;
  enabled: ReadonlySet<string>;
  reasons: ReadonlyMap<string, Reason> | null;
  requirements: readonly Requirement[];
  result?: MinimizeResult;
}

export interface Location {
  file: string;
  /** 0-based */
  line: number;
}

export interface MenuSummary {
  line: number;
  title: string;
  needed: number;
  total: number;
}

export class KernelWorkspace {
  private view: ConfigView;
  private readonly fileText = new Map<string, string[]>();
  private readonly entriesByFile = new Map<string, Array<{ line: number; name: string }>>();
  private kbuild: KbuildMap | undefined;
  /** minimising and loading a configuration change the engine's state: one at a time */
  private readonly engine = new SerialQueue();

  private constructor(
    readonly tree: string,
    readonly arch: string,
    readonly loaded: LoadedKconfig,
    view: ConfigView,
    private readonly minimize: Minimizer,
  ) {
    this.view = view;
    for (const s of loaded.kconfig.definedSymbols()) {
      for (const m of s.menus) {
        const list = this.entriesByFile.get(m.file) ?? [];
        list.push({ line: m.line - 1, name: s.name as string });
        this.entriesByFile.set(m.file, list);
      }
    }
  }

  /** The kernel tree for these folders: the project's, a folder that is one, then the usual search. */
  static async resolveTree(folders: readonly string[], project?: Project): Promise<string> {
    if (project?.kernel) return (await resolveKernelTree({ kernel: project.kernel })).root;
    for (const f of folders) if (isKernelTree(f)) return resolve(f);
    return (await resolveKernelTree({})).root;
  }

  /** `minimize` is the minimiser's entry point (tests slow it down to race reloads). */
  static async open(tree: string, arch: string, minimize: Minimizer = minimizeConfig): Promise<KernelWorkspace> {
    const loaded = await loadKconfigAsync({ tree, arch });
    const ws = new KernelWorkspace(tree, arch, loaded, { source: 'defaults', config: '', enabled: new Set(), reasons: null, requirements: [] }, minimize);
    await ws.useTreeConfig();
    return ws;
  }

  get kc(): Kconfig {
    return this.loaded.kconfig;
  }

  get current(): ConfigView {
    return this.view;
  }

  /** The tree's own `.config` (or the defaults when it has none), once the engine is free. */
  useTreeConfig(isCurrent: () => boolean = () => true): Promise<void> {
    return this.engine.run(() => {
      if (!isCurrent()) return;
      const dot = join(this.tree, '.config');
      const text = existsSync(dot) ? readFileSync(dot, 'utf8') : null;
      const config = this.kc.olddefconfig(text);
      this.setView({ source: text === null ? 'defaults' : 'dot-config', config, enabled: new Set(enabledOptions(config)), reasons: null, requirements: [] });
    });
  }

  /**
   * Minimise for the project once the engine is free; the view then shows what the app needs.
   * Undefined when a newer reload began meanwhile: the view stays as it was.
   */
  useProject(project: Project, opts: UseOptions = {}): Promise<MinimizeResult | undefined> {
    const isCurrent = opts.isCurrent ?? ((): boolean => true);
    return this.engine.run(async () => {
      if (!isCurrent()) return undefined;
      let result: MinimizeResult | undefined;
      try {
        result = await this.minimize(minimizeOptions(this.loaded, this.arch, project, opts.onProgress));
      } finally {
        this.settle(isCurrent() ? result : undefined);
      }
      return isCurrent() ? result : undefined;
    });
  }

  /** After a minimisation: show its result, or (failed, superseded) put the engine back on the view. */
  private settle(result: MinimizeResult | undefined): void {
    if (result) this.setView({ source: 'project', config: result.config, enabled: new Set(enabledOptions(result.config)), reasons: result.reasons, requirements: result.report.requirements, result });
    // the minimiser leaves the engine in a state of its own
    else this.kc.load(this.view.config);
  }

  private setView(v: ConfigView): void {
    this.view = v;
    // the engine's state answers hover and Kbuild questions against this configuration
    this.kc.load(v.config);
  }

  rel(file: string): string | undefined {
    const r = relative(this.tree, file);
    if (r.startsWith('..') || r === '' || r.startsWith(sep)) return undefined;
    return r.split(sep).join('/');
  }

  abs(rel: string): string {
    return join(this.tree, rel);
  }

  isKconfigFile(rel: string): boolean {
    return this.entriesByFile.has(rel) || fileKind(rel) === 'kconfig';
  }

  /** `config`/`menuconfig` entries of a Kconfig file: 0-based line and symbol */
  entries(rel: string): ReadonlyArray<{ line: number; name: string }> {
    return this.entriesByFile.get(rel) ?? [];
  }

  isOn(name: string): boolean {
    return this.view.enabled.has(name);
  }

  definitions(name: string): Location[] {
    const s = this.kc.symbol(name);
    if (!s) return [];
    return s.menus.map((m) => ({ file: this.abs(m.file), line: m.line - 1 }));
  }

  private lines(rel: string): string[] {
    let l = this.fileText.get(rel);
    if (!l) {
      try {
        l = readFileSync(this.abs(rel), 'utf8').split('\n');
      } catch {
        l = [];
      }
      this.fileText.set(rel, l);
    }
    return l;
  }

  /** Every line of the tree's Kconfig files that uses the symbol (depends on, select, imply, if, default, …). */
  references(name: string, includeDeclaration: boolean): Location[] {
    const word = new RegExp(`(^|[^A-Za-z0-9_])${name}($|[^A-Za-z0-9_])`);
    const decl = new RegExp(`^\\s*(menu)?config\\s+${name}\\s*$`);
    const out: Location[] = [];
    for (const rel of this.kc.files) {
      const lines = this.lines(rel);
      lines.forEach((text, i) => {
        if (!word.test(text)) return;
        const code = text.replace(/#.*$/, '');
        if (!word.test(code)) return;
        if (decl.test(code)) {
          if (includeDeclaration) out.push({ file: this.abs(rel), line: i });
          return;
        }
        if (/^\s*(depends\s+on|select|imply|if|default|def_bool|def_tristate|visible\s+if|range|bool|tristate|prompt|int|hex|string)\b/.test(code)) out.push({ file: this.abs(rel), line: i });
      });
    }
    return out;
  }

  /** Menus and menuconfig entries of a file, with how many of their options are needed. */
  menus(rel: string): MenuSummary[] {
    const out: MenuSummary[] = [];
    const walk = (m: MenuNode | null): void => {
      for (let n = m; n; n = n.next) {
        if (n.file === rel && (n.kind === 'menu' || n.kind === 'menuconfig')) {
          const syms = new Set<string>();
          const collect = (c: MenuNode | null): void => {
            for (let x = c; x; x = x.next) {
              if (x.sym?.name && (x.kind === 'config' || x.kind === 'menuconfig')) syms.add(x.sym.name);
              collect(x.list);
            }
          };
          collect(n.list);
          if (n.kind === 'menuconfig' && n.sym?.name) {
            // entries that follow and depend on it belong to it, even where they are not nested
            for (let x = n.next; x; x = x.next) {
              const dep = positiveSymbols(x.dep).some((s) => s === n.sym);
              if (!dep) break;
              if (x.sym?.name) syms.add(x.sym.name);
              collect(x.list);
            }
          }
          if (syms.size) out.push({ line: n.line - 1, title: n.prompt?.text ?? n.sym?.name ?? 'menu', needed: [...syms].filter((s) => this.isOn(s)).length, total: syms.size });
        }
        walk(n.list);
      }
    };
    walk(this.kc.root.list);
    return out;
  }

  /** Why an option is on, as lines (a chain down to a requirement), or null without a project. */
  reasonLines(name: string): string[] | null {
    if (!this.view.reasons) return null;
    const chain = reasonChain(this.view.reasons, name);
    return chain.map((c) => `${c.symbol}: ${c.reason.text}`);
  }

  /**
   * Whether a C or assembly file of the tree is built under the current configuration:
   * undefined when no Makefile says (headers, files #included by others).
   */
  fileBuilt(rel: string): { built: boolean; condition: string } | undefined {
    if (!/\.[cS]$/.test(rel)) return undefined;
    const cond = this.kbuildMap().fileCondition(rel);
    return cond ? this.judge(cond) : undefined;
  }

  /** `#if` branches of a source that the current configuration compiles out. */
  inactiveRegions(source: string): InactiveRegion[] {
    const kindOf = (name: string): 'bool' | 'other' | 'none' => {
      const s = this.kc.symbol(name);
      if (!s || s.menus.length === 0) return 'none';
      return s.type === 'bool' || s.type === 'tristate' ? 'bool' : 'other';
    };
    return inactiveRegions(source, (cond) => {
      const expr = conditionToKconfig(cond, kindOf);
      if (expr === undefined) return undefined;
      try {
        return this.kc.evaluate(expr) !== 0;
      } catch {
        return undefined;
      }
    });
  }

  private kbuildMap(): KbuildMap {
    this.kbuild ??= new KbuildMap(this.tree, kbuildContextFor(this.arch));
    return this.kbuild;
  }

  /** Whether a Makefile's directory is descended into at all. */
  dirBuilt(relDir: string): { built: boolean; condition: string } | undefined {
    return this.judge(this.kbuildMap().dirCondition(relDir));
  }

  /** A Kbuild condition under the current configuration (undefined if it cannot be evaluated). */
  private judge(cond: Cond): { built: boolean; condition: string } | undefined {
    const text = toKconfig(cond, (n) => {
      const s = this.kc.symbol(n);
      return s && s.menus.length ? s.type : undefined;
    });
    try {
      return { built: this.kc.evaluate(text) !== 0, condition: text };
    } catch {
      return undefined;
    }
  }
}

function minimizeOptions(loaded: LoadedKconfig, arch: string, project: Project, onProgress?: (m: string) => void): Parameters<Minimizer>[0] {
  const s = project.settings;
  return {
    loaded,
    app: project.app,
    ...(s.libc ? { libc: s.libc } : {}),
    arch,
    mode: s.mode,
    ...(s.profile !== undefined ? { profile: s.profile } : {}),
    enable: s.enable,
    disable: s.disable,
    assumeSyscalls: s.assumeSyscalls,
    oneMinimal: false,
    ...(onProgress ? { onProgress } : {}),
  };
}
