import { basename } from 'node:path';
import type { Diagnostic } from 'vscode-languageserver/node';
import type { Project } from './project.js';
import type { KernelWorkspace } from './workspace.js';

/**
 * What the features answer from: the kernel workspace (with its current view) and the project
 * file, as the last reload left them. A reload replaces the object whole, never edits it.
 */
export interface Snapshot {
  readonly workspace?: KernelWorkspace;
  readonly projectFile?: string;
  readonly project?: Project;
  /** the project file's problems, and a failed analysis */
  readonly projectDiagnostics: readonly Diagnostic[];
}

/** Whom the current view speaks for, in messages ("the app (echo.o)"). */
export function audience(ws: KernelWorkspace, project: Project | undefined): string {
  const source = ws.current.source;
  if (source === 'project') return `the app (${project ? basename(project.app[0] ?? '') : ''})`;
  return source === 'dot-config' ? "the tree's .config" : 'the default configuration';
}
