import { basename } from 'node:path';
import { DiagnosticSeverity, MessageType, type Diagnostic } from 'vscode-languageserver/node';
import { PROJECT_FILE } from './handled-files.js';
import { lineRange } from './positions.js';
import type { Project, ProjectProblem } from './project.js';
import type { Snapshot } from './snapshot.js';
import { KernelWorkspace } from './workspace.js';

/** The project file found in the workspace folders, checked (no file: no project, no problems). */
export interface ProjectCheck {
  projectFile?: string;
  project?: Project;
  problems: readonly ProjectProblem[];
}

/** How a reload reads the project and the kernel tree (tests replace them to race reloads). */
export interface ReloadSteps {
  readProject(): ProjectCheck;
  resolveTree(project: Project | undefined): Promise<string>;
  open(tree: string, arch: string): Promise<KernelWorkspace>;
}

export interface Progress {
  report(message: string): void;
  done(): void;
}

/** What a reload tells the editor. Nothing is said for a reload that a newer one superseded. */
export interface ReloadEvents {
  begin(why: string): Promise<Progress>;
  /** the project file's diagnostics changed */
  projectChecked(s: Snapshot): void;
  /** the view is final: republish everything */
  loaded(s: Snapshot): void;
  message(type: MessageType, text: string): void;
  log(text: string): void;
}

const projectDiagnostic = (line: number, message: string): Diagnostic => ({ range: lineRange(line), severity: DiagnosticSeverity.Error, source: 'ukl-trim', message });

/**
 * (Re)loads the project and the view in the background; requests wait for it with `ready()`.
 * Reloads may overlap (the project file is saved while the app is analysed): each takes a
 * generation, and once a newer one has begun an older one changes nothing.
 */
export class Reloader {
  private generation = 0;
  private pending: Promise<void> | undefined;
  private state: Snapshot = { projectDiagnostics: [] };

  constructor(
    private readonly steps: ReloadSteps,
    private readonly events: ReloadEvents,
  ) {}

  get snapshot(): Snapshot {
    return this.state;
  }

  reload(why: string): Promise<void> {
    const mine = ++this.generation;
    const run = this.run(why, () => mine === this.generation);
    this.pending = run;
    return run;
  }

  /** The snapshot once the newest reload has ended, including one begun while waiting. */
  async ready(): Promise<Snapshot> {
    for (let p = this.pending; p; p = this.pending) {
      await p;
      if (p === this.pending) break;
    }
    return this.state;
  }

  private async run(why: string, isCurrent: () => boolean): Promise<void> {
    const progress = await this.events.begin(why);
    try {
      const checked = this.steps.readProject();
      if (!isCurrent()) return;
      this.state = { workspace: this.state.workspace, projectFile: checked.projectFile, project: checked.project, projectDiagnostics: checked.problems.map((p) => projectDiagnostic(p.line, p.message)) };
      this.events.projectChecked(this.state);
      const ws = await this.workspaceFor(checked.project, progress, isCurrent);
      if (!ws || !isCurrent()) return;
      this.state = { ...this.state, workspace: ws };
      await this.analyse(ws, checked.project, progress, isCurrent);
      if (isCurrent()) this.events.loaded(this.state);
    } catch (e) {
      this.say(isCurrent, MessageType.Error, `ukl-trim: ${(e as Error).message}`);
    } finally {
      progress.done();
    }
  }

  /** the workspace of the project's tree and arch: the current one when it is that, else opened */
  private async workspaceFor(project: Project | undefined, progress: Progress, isCurrent: () => boolean): Promise<KernelWorkspace | undefined> {
    let tree: string;
    try {
      tree = await this.steps.resolveTree(project);
    } catch (e) {
      this.say(isCurrent, MessageType.Error, `ukl-trim: no kernel tree: ${(e as Error).message}`);
      return undefined;
    }
    const arch = project?.settings.arch ?? 'x86_64';
    const ws = this.state.workspace;
    if (ws && ws.tree === tree && ws.arch === arch) return ws;
    progress.report(`loading the Kconfig tree of ${tree}`);
    try {
      return await this.steps.open(tree, arch);
    } catch (e) {
      this.say(isCurrent, MessageType.Error, `ukl-trim: ${tree} cannot be loaded as a kernel tree: ${(e as Error).message}`);
      return undefined;
    }
  }

  /** minimise for the project; without one, or when that fails (a diagnostic), the tree's .config */
  private async analyse(ws: KernelWorkspace, project: Project | undefined, progress: Progress, isCurrent: () => boolean): Promise<void> {
    if (!project) return ws.useTreeConfig(isCurrent);
    progress.report(`analysing ${project.app.map((a) => basename(a)).join(' ')}`);
    try {
      const r = await ws.useProject(project, { isCurrent, onProgress: (m) => progress.report(m) });
      if (r) this.events.log(`${r.report.counts.enabled} options on for ${basename(project.app[0] ?? '')}`);
    } catch (e) {
      if (!isCurrent()) return;
      const message = `${PROJECT_FILE}: ${(e as Error).message}`;
      this.state = { ...this.state, projectDiagnostics: [...this.state.projectDiagnostics, projectDiagnostic(0, message)] };
      this.events.projectChecked(this.state);
      this.events.message(MessageType.Warning, `ukl-trim: ${message}`);
      await ws.useTreeConfig(isCurrent);
    }
  }

  private say(isCurrent: () => boolean, type: MessageType, text: string): void {
    if (isCurrent()) this.events.message(type, text);
  }
}
