/**
 * Which files the language server handles, by base name ('*' matches any run of characters).
 * The server classifies documents with this list and the VS Code extension builds its document
 * selector from it: the extension's build copies this file (editors/vscode/package.json,
 * "prebuild"), so it holds data only and imports nothing.
 */
export const PROJECT_FILE = 'ukl-trim.json';

export const HANDLED_FILES = {
  project: [PROJECT_FILE],
  kconfig: ['Kconfig*', '*.kconfig'],
  dotConfig: ['.config', '*.config', 'defconfig', '*_defconfig'],
  source: ['*.c', '*.h', '*.S'],
  makefile: ['Makefile', 'Kbuild'],
} as const;

/** Files whose change re-runs the analysis: the project file and the app's objects. */
export const WATCHED_FILES = [PROJECT_FILE, '*.o', '*.a', '*.bc'] as const;
