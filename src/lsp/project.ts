import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { PROJECT_FILE } from './handled-files.js';

/**
 * `ukl-trim.json`: what the editor should minimise for. Paths are relative to the file.
 *   { "app": ["echo.o"], "libc": "glibc", "arch": "x86_64", "mode": "initramfs",
 *     "profile": "qemu-x86_64", "enable": [], "disable": [], "assumeSyscalls": [], "kernel": "../linux" }
 */
export const ProjectFileSchema = z
  .object({
    app: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    libc: z.string().optional(),
    arch: z.string().default('x86_64'),
    mode: z.enum(['initramfs', 'ukl']).default('initramfs'),
    profile: z.string().nullable().optional(),
    enable: z.array(z.string()).default([]),
    disable: z.array(z.string()).default([]),
    /** syscalls to require although the analysis did not find them (where it left a place unresolved) */
    assumeSyscalls: z.array(z.string()).default([]),
    /** the kernel tree (default: a workspace folder that is one, then $UKL_TRIM_KERNEL, then Debian's) */
    kernel: z.string().optional(),
  })
  .strict();
export type ProjectFile = z.infer<typeof ProjectFileSchema>;

export interface Project {
  file: string;
  /** app inputs, absolute */
  app: string[];
  settings: ProjectFile;
  kernel?: string;
}

export interface ProjectProblem {
  file: string;
  message: string;
  /** 0-based line of the offending key, when it can be found */
  line: number;
}

/** The first project file in the folders, or none. */
export function findProjectFile(folders: readonly string[]): string | undefined {
  for (const f of folders) {
    const p = join(f, PROJECT_FILE);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** Parse and check a project file; problems come back as data with the line to mark. */
export function readProject(file: string, text?: string): { project?: Project; problems: ProjectProblem[] } {
  let raw: string;
  try {
    raw = text ?? readFileSync(file, 'utf8');
  } catch (e) {
    return { problems: [{ file, message: `cannot read ${PROJECT_FILE}: ${(e as Error).message}`, line: 0 }] };
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (e) {
    const m = /position (\d+)/.exec((e as Error).message);
    const line = m ? raw.slice(0, Number(m[1])).split('\n').length - 1 : 0;
    return { problems: [{ file, message: `${PROJECT_FILE} is not valid JSON: ${(e as Error).message}`, line }] };
  }
  const parsed = ProjectFileSchema.safeParse(json);
  if (!parsed.success) {
    return {
      problems: parsed.error.issues.map((i) => {
        const key = String(i.path[0] ?? (i.code === 'unrecognized_keys' ? (i as { keys?: string[] }).keys?.[0] : '') ?? '');
        const at = key ? raw.split('\n').findIndex((l) => l.includes(`"${key}"`)) : -1;
        return { file, message: `${PROJECT_FILE}: ${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`, line: Math.max(0, at) };
      }),
    };
  }
  const base = dirname(file);
  const apps = (typeof parsed.data.app === 'string' ? [parsed.data.app] : parsed.data.app).map((a) => resolve(base, a));
  const problems: ProjectProblem[] = [];
  for (const a of apps) {
    if (!existsSync(a)) {
      const rel = a.slice(base.length + 1);
      const at = raw.split('\n').findIndex((l) => l.includes(rel) || l.includes('"app"'));
      problems.push({ file, message: `${PROJECT_FILE}: app input ${a} does not exist (build the app first)`, line: Math.max(0, at) });
    }
  }
  if (problems.length) return { problems };
  const project: Project = { file, app: apps, settings: parsed.data };
  if (parsed.data.kernel) project.kernel = resolve(base, parsed.data.kernel);
  return { project, problems: [] };
}
