import { describe, expect, it } from 'vitest';
import { DiagnosticSeverity } from 'vscode-languageserver/node';
import { ProjectFileSchema } from '../src/lsp/project.js';
import { unresolvedInSource, unresolvedOnProject, type Unresolved } from '../src/lsp/unresolved.js';

const PLACES: Unresolved[] = [
  { kind: 'syscall-site', function: 'dispatch', address: 0x401a2c, reason: 'may be any syscall: rax is computed' },
  { kind: 'socket-family', function: 'open_listener', address: 0x401b00, reason: 'the family argument is not a constant' },
  { kind: 'syscall-site', function: '__stdio_read', address: 0x40f000, reason: 'may be any syscall: rax is computed' },
];

const SOURCE = [
  '#include <unistd.h>',
  'static int open_listener(unsigned short port)',
  '{',
  '\treturn socket(family, SOCK_STREAM, 0);',
  '}',
  'long dispatch(long n) {',
  '\treturn syscall(n); // dispatch(n) again',
  '}',
  'int main(int argc, char **argv)',
  '{',
  '\treturn dispatch(argc);',
  '}',
].join('\n');

describe('unresolved places in the editor', () => {
  it('the project file gets a warning per place, saying what may be missing and how to add it', () => {
    const d = unresolvedOnProject(PLACES);
    expect(d.map((x) => [x.range.start.line, x.severity, x.message])).toEqual([
      [0, DiagnosticSeverity.Warning, 'syscall unresolved in dispatch at 0x401a2c: may be any syscall: rax is computed; the kernel may lack what it needs: name the syscalls in "assumeSyscalls" or the options in "enable" of ukl-trim.json'],
      [0, DiagnosticSeverity.Warning, 'socket family unresolved in open_listener at 0x401b00: the family argument is not a constant; the kernel may lack what it needs: name the syscalls in "assumeSyscalls" or the options in "enable" of ukl-trim.json'],
      [0, DiagnosticSeverity.Warning, 'syscall unresolved in __stdio_read at 0x40f000: may be any syscall: rax is computed; the kernel may lack what it needs: name the syscalls in "assumeSyscalls" or the options in "enable" of ukl-trim.json'],
    ]);
  });

  it("an app source gets the warning on the definition line of the function that holds the place, not on its calls", () => {
    const d = unresolvedInSource(SOURCE, PLACES);
    expect(d.map((x) => [x.range.start.line, String(x.message).split(';')[0]])).toEqual([
      [1, 'socket family unresolved in open_listener at 0x401b00: the family argument is not a constant'],
      [5, 'syscall unresolved in dispatch at 0x401a2c: may be any syscall: rax is computed'],
    ]);
    expect(unresolvedInSource(SOURCE, [])).toEqual([]);
  });

  it('the project file takes the syscalls to assume', () => {
    expect(ProjectFileSchema.parse({ app: 'echo.o', assumeSyscalls: ['timerfd_create'] }).assumeSyscalls).toEqual(['timerfd_create']);
    expect(ProjectFileSchema.parse({ app: 'echo.o' }).assumeSyscalls).toEqual([]);
  });
});
