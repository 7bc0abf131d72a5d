import { basename, dirname } from 'node:path';
import { HANDLED_FILES } from './handled-files.js';
import type { Project } from './project.js';

export type FileKind = keyof typeof HANDLED_FILES;

const globSource = (name: string): string => name.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');

const MATCHERS = (Object.entries(HANDLED_FILES) as Array<[FileKind, readonly string[]]>).map(([kind, names]) => ({
  kind,
  re: new RegExp(`^(?:${names.map(globSource).join('|')})$`),
}));

/** The kind of file a path is, by its base name; undefined for one the server leaves alone. */
export function fileKind(path: string): FileKind | undefined {
  const name = basename(path);
  return MATCHERS.find((m) => m.re.test(name))?.kind;
}

/** The folders of the project file and of the app's inputs: the app's own sources live there. */
export function appSourceDirs(project: Project): string[] {
  return [...new Set([dirname(project.file), ...project.app.map((a) => dirname(a))])];
}

/** A C or assembly source of the app itself (where calls get lenses and libc hovers). */
export function isAppSource(project: Project | undefined, path: string): boolean {
  return project !== undefined && fileKind(path) === 'source' && appSourceDirs(project).includes(dirname(path));
}
