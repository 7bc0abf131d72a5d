/**
 * Bounce buffers for musl-ukl. A UKL kernel lets an app in kernel mode pass kernel addresses to
 * system calls (its access_ok says yes), but on 6.1 the kernel's string readers
 * (strncpy_from_user for every path, strnlen_user) and get_user/put_user still compare the address
 * with TASK_SIZE_MAX and fail with EFAULT. The app's static data (string literals, globals) lives
 * in the kernel image, so `open("/dev/urandom")` or `accept(fd, a, &global_len)` would fail. The
 * system calls that read or write through those paths copy such an argument to the stack (a user
 * address) around the call; everything else goes straight to `entry_SYSCALL_64`.
 */

/** how an argument is read by the kernel: a NUL-terminated string, or a 4- or 8-byte scalar read and written back */
type Kind = 'string' | 'int' | 'int-pair';
const KIND_BITS: Record<Kind, number> = { string: 1, int: 2, 'int-pair': 3 };

/** x86_64 system calls whose arguments reach the kernel through the range-checked readers, by argument index */
const BOUNCED: Record<string, ReadonlyArray<[number, Kind]>> = {
  open: [[0, 'string']], creat: [[0, 'string']], openat: [[1, 'string']], openat2: [[1, 'string']],
  stat: [[0, 'string']], lstat: [[0, 'string']], newfstatat: [[1, 'string']], statx: [[1, 'string']],
  access: [[0, 'string']], faccessat: [[1, 'string']], faccessat2: [[1, 'string']], truncate: [[0, 'string']],
  chdir: [[0, 'string']], chroot: [[0, 'string']], rename: [[0, 'string'], [1, 'string']],
  renameat: [[1, 'string'], [3, 'string']], renameat2: [[1, 'string'], [3, 'string']],
  mkdir: [[0, 'string']], mkdirat: [[1, 'string']], rmdir: [[0, 'string']],
  link: [[0, 'string'], [1, 'string']], linkat: [[1, 'string'], [3, 'string']],
  unlink: [[0, 'string']], unlinkat: [[1, 'string']], symlink: [[0, 'string'], [1, 'string']],
  symlinkat: [[0, 'string'], [2, 'string']], readlink: [[0, 'string']], readlinkat: [[1, 'string']],
  chmod: [[0, 'string']], fchmodat: [[1, 'string']], chown: [[0, 'string']], lchown: [[0, 'string']],
  fchownat: [[1, 'string']], utime: [[0, 'string']], utimes: [[0, 'string']], futimesat: [[1, 'string']],
  utimensat: [[1, 'string']], mknod: [[0, 'string']], mknodat: [[1, 'string']], statfs: [[0, 'string']],
  mount: [[0, 'string'], [1, 'string'], [2, 'string']], umount2: [[0, 'string']],
  pivot_root: [[0, 'string'], [1, 'string']], swapon: [[0, 'string']], swapoff: [[0, 'string']], acct: [[0, 'string']],
  setxattr: [[0, 'string'], [1, 'string']], lsetxattr: [[0, 'string'], [1, 'string']], fsetxattr: [[1, 'string']],
  getxattr: [[0, 'string'], [1, 'string']], lgetxattr: [[0, 'string'], [1, 'string']], fgetxattr: [[1, 'string']],
  listxattr: [[0, 'string']], llistxattr: [[0, 'string']], removexattr: [[0, 'string'], [1, 'string']],
  lremovexattr: [[0, 'string'], [1, 'string']], fremovexattr: [[1, 'string']],
  inotify_add_watch: [[1, 'string']], fanotify_mark: [[4, 'string']], name_to_handle_at: [[1, 'string']],
  memfd_create: [[0, 'string']], mq_open: [[0, 'string']], mq_unlink: [[0, 'string']],
  delete_module: [[0, 'string']], init_module: [[2, 'string']], finit_module: [[1, 'string']],
  add_key: [[0, 'string'], [1, 'string']], request_key: [[0, 'string'], [1, 'string'], [2, 'string']],
  execve: [[0, 'string']], execveat: [[1, 'string']], quotactl: [[1, 'string']],
  open_tree: [[1, 'string']], move_mount: [[1, 'string'], [3, 'string']], fsopen: [[0, 'string']],
  fspick: [[1, 'string']], mount_setattr: [[1, 'string']],
  accept: [[2, 'int']], accept4: [[2, 'int']], getsockname: [[2, 'int']], getpeername: [[2, 'int']],
  recvfrom: [[5, 'int']], getsockopt: [[4, 'int']], wait4: [[1, 'int']], socketpair: [[3, 'int-pair']],
};

/** the system calls that are bounced */
export const BOUNCED_SYSCALLS: readonly string[] = Object.keys(BOUNCED);

/** 2 bits per argument, argument 0 lowest */
function spec(args: ReadonlyArray<[number, Kind]>): number {
  return args.reduce((bits, [index, kind]) => bits | (KIND_BITS[kind] << (2 * index)), 0);
}

const REGS = ['D', 'S', 'd'] as const;

/** put before musl's own `__syscallN` in syscall_arch.h: the table, the raw call, the bounce's prototype */
export function bounceHeader(call: string): string {
  const cases = Object.entries(BOUNCED)
    .map(([name, args]) => `#ifdef SYS_${name}\n\tcase SYS_${name}: return ${spec(args)};\n#endif`)
    .join('\n');
  return `/* ukl-trim: bounce buffers for UKL (see src/internal/ukl_bounce.c) */
long __ukl_syscall_bounce(long, long, long, long, long, long, long);

static __inline unsigned __ukl_bounce_spec(long n)
{
	switch (n) {
${cases}
	default: return 0;
	}
}

static __inline long __ukl_raw_syscall6(long n, long a1, long a2, long a3, long a4, long a5, long a6)
{
	unsigned long ret;
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;
	__asm__ __volatile__ ("${call}" : "=a"(ret) : "a"(n), ${REGS.map((r, i) => `"${r}"(a${i + 1})`).join(', ')},
						  "r"(r10), "r"(r8), "r"(r9) : "rcx", "r11", "memory");
	return ret;
}

`;
}

/** the first statement of musl's `__syscallN(n, a1 … aN)`: the bounced calls leave through the bounce */
export function bounceCheck(argCount: number): string {
  const args = Array.from({ length: 6 }, (_, i) => (i < argCount ? `a${i + 1}` : '0'));
  return `\tif (__ukl_bounce_spec(n)) return __ukl_syscall_bounce(n, ${args.join(', ')});\n`;
}

/** src/internal/ukl_bounce.c: copies kernel-half arguments to this frame (the user stack), calls, copies scalars back */
export const BOUNCE_SOURCE = `/* ukl-trim (MIT): bounce buffers for system calls made from UKL, see syscall_arch.h */
#include <string.h>
#include "syscall.h"

#define UKL_USER_LIMIT 0x00007ffffffff000UL
#define UKL_PATH_MAX 4096

long __ukl_syscall_bounce(long n, long a1, long a2, long a3, long a4, long a5, long a6)
{
	long arg[6] = { a1, a2, a3, a4, a5, a6 }, given[6] = { a1, a2, a3, a4, a5, a6 };
	unsigned long long scalar[6];
	unsigned spec = __ukl_bounce_spec(n), kind;
	int i;
	for (i = 0; i < 6; i++) {
		kind = spec >> 2*i & 3;
		if (!kind || (unsigned long)given[i] < UKL_USER_LIMIT) continue;
		if (kind == 1) {
			size_t len = strnlen((const char *)given[i], UKL_PATH_MAX);
			char *copy = __builtin_alloca(len + 1);
			memcpy(copy, (const char *)given[i], len);
			copy[len] = 0;
			arg[i] = (long)copy;
		} else {
			memcpy(&scalar[i], (const void *)given[i], kind == 2 ? 4 : 8);
			arg[i] = (long)&scalar[i];
		}
	}
	long ret = __ukl_raw_syscall6(n, arg[0], arg[1], arg[2], arg[3], arg[4], arg[5]);
	for (i = 0; i < 6; i++) {
		kind = spec >> 2*i & 3;
		if (kind >= 2 && (unsigned long)given[i] >= UKL_USER_LIMIT)
			memcpy((void *)given[i], &scalar[i], kind == 2 ? 4 : 8);
	}
	return ret;
}
`;
