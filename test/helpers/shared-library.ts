import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A shared library lib`name`.so in `dir` (one function, `name`) and programs linked against it:
 * `program(out, ...ldFlags)` links one (`-Wl,-rpath,…` gives it a run path).
 */
export function libraryAndPrograms(dir: string, name: string): { library: string; program: (out: string, ...ldFlags: string[]) => string } {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.c`), `int ${name}(void) { return 0; }\n`);
  writeFileSync(join(dir, `uses-${name}.c`), `int ${name}(void);\nint main(void) { return ${name}(); }\n`);
  const library = join(dir, `lib${name}.so`);
  gcc(['-shared', '-fPIC', '-o', library, join(dir, `${name}.c`)]);
  const program = (out: string, ...ldFlags: string[]): string => {
    gcc(['-o', out, join(dir, `uses-${name}.c`), `-L${dir}`, `-l${name}`, ...ldFlags]);
    return out;
  };
  return { library, program };
}

function gcc(args: string[]): void {
  const r = spawnSync('gcc', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`gcc ${args.join(' ')}: ${r.stderr}`);
}
