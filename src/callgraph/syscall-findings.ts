import type { Reachability } from './graph.js';
import type { GprName } from './register-values.js';
import { siteNumbers, type CallEdge, type SyscallSite } from './syscall-sites.js';

/**
 * What the reached code asks of the kernel: each syscall with its shortest witness path (a
 * wrapper's number followed through its callers to the constants they pass), the socket families
 * from the family argument, followed the same way, and the sites that may be any syscall.
 */

/** what the findings read of the analysed program */
export interface ReachedProgram {
  reach: Reachability;
  /** the direct calls and jumps into each function */
  callersOf: ReadonlyMap<string, CallEdge[]>;
  /** may be entered with any arguments: a root, or address-taken while an indirect call is reachable */
  callableFromOutside(fn: string): boolean;
  /** syscalls whose first argument is an address family */
  familySyscalls: ReadonlySet<number>;
  /** the functions that are libc's socket()/socketpair() under one of their names */
  socketFunctions: ReadonlySet<string>;
}

export interface UnresolvedSite {
  function: string | null;
  address: number;
  reason: string;
}

/** a socket call or syscall whose family argument is not a constant */
export interface UnknownFamilySite {
  function: string;
  address: number;
}

/** where the syscall's first argument is, seen from a function: a constant, or one of its parameters */
type ArgumentSource = { constant: number } | { parameter: GprName };

/** a function whose callers pass the syscall number, as followed from its syscall site */
export interface WrapperTask {
  /** the function whose callers pass the number */
  fn: string;
  register: GprName;
  /** fn → … → the function holding the syscall instruction */
  chain: string[];
  /** the syscall's first argument as fn sees it; undefined when it was lost on the way */
  argument?: ArgumentSource;
}

/** Linux's address family numbers (include/linux/socket.h), as the requirements name them */
const ADDRESS_FAMILIES: Record<number, string> = {
  1: 'AF_UNIX', 2: 'AF_INET', 3: 'AF_AX25', 5: 'AF_APPLETALK', 6: 'AF_NETROM', 8: 'AF_ATMPVC', 9: 'AF_X25', 10: 'AF_INET6',
  11: 'AF_ROSE', 15: 'AF_KEY', 16: 'AF_NETLINK', 17: 'AF_PACKET', 20: 'AF_ATMSVC', 21: 'AF_RDS', 24: 'AF_PPPOX', 26: 'AF_LLC',
  29: 'AF_CAN', 30: 'AF_TIPC', 31: 'AF_BLUETOOTH', 32: 'AF_IUCV', 33: 'AF_RXRPC', 34: 'AF_ISDN', 35: 'AF_PHONET',
  36: 'AF_IEEE802154', 37: 'AF_CAIF', 38: 'AF_ALG', 39: 'AF_NFC', 40: 'AF_VSOCK', 41: 'AF_KCM', 42: 'AF_QIPCRTR', 43: 'AF_SMC',
  44: 'AF_XDP', 45: 'AF_MCTP',
};
/** socket(AF_UNSPEC, …) fails in every kernel (no family registers 0): nothing to require */
const AF_UNSPEC = 0;

export class SyscallFindings {
  /** nr → the shortest witness path: root → … → the function holding the site */
  private readonly paths = new Map<number, string[]>();
  /** family name → root → … → the socket call or syscall site */
  private readonly familyPaths = new Map<string, string[]>();
  private readonly unknownFamilies: UnknownFamilySite[] = [];
  private readonly unresolved: UnresolvedSite[] = [];
  /** wrappers that callers outside the analysed code may call with any number */
  private readonly openWrappers: WrapperTask[] = [];

  constructor(private readonly program: ReachedProgram) {}

  /**
   * The wrappers of this file that another file may call (libc.so.6's exported syscall()): the
   * constants those callers pass are found by addCallsToWrapperOfAnotherFile in their file.
   */
  get wrappersCallableFromOutside(): readonly WrapperTask[] {
    return this.openWrappers;
  }

  /**
   * Calls in this file to a wrapper another file exports, by its imported name (a PLT stub or
   * GOT slot): the numbers they pass, followed like this file's own wrappers'. `wrapper.chain`
   * names the other file's functions as the report should show them.
   */
  addCallsToWrapperOfAnotherFile(wrapper: WrapperTask): void {
    this.resolveWrapper(wrapper, 0);
  }

  /** a syscall site of the scan: its numbers, its wrapper's callers, or "may be any syscall" */
  addSite(site: SyscallSite): void {
    const { reach, familySyscalls } = this.program;
    // code no symbol covers cannot be placed in the graph: counted as reachable
    if (site.function !== null && !reach.isReached(site.function)) return;
    // UKL: a `call entry_SYSCALL_64` shows the entry at the end of its paths
    const via = site.via === undefined ? [] : [site.via];
    const numbers = siteNumbers(site);
    if (numbers.length > 0) {
      const where = [...(site.function === null ? [`<code at 0x${site.address.toString(16)}>`] : reach.pathTo(site.function)), ...via];
      for (const nr of numbers) {
        this.record(nr, where);
        if (familySyscalls.has(nr)) this.familyAt(site.function, site.address, site.firstArgument, site.function === null ? where : [site.function, ...via]);
      }
    } else if (site.numberInParameter !== undefined && site.function !== null) {
      this.resolveWrapper({ fn: site.function, register: site.numberInParameter, chain: [site.function, ...via], ...(site.firstArgument ? { argument: site.firstArgument } : {}) }, site.address);
    } else {
      this.unresolved.push({ function: site.function, address: site.address, reason: `may be any syscall: ${site.reason ?? 'number not recovered'}` });
    }
  }

  /** UKL: a reached bypass call `bp_<name>` is the syscall <name> itself (nr undefined: no syscall of this kernel) */
  addBypassCall(symbol: string, address: number, nr: number | undefined): void {
    if (nr === undefined) {
      this.unresolved.push({ function: symbol, address, reason: `may be any syscall: bypass call ${symbol} names no syscall of this kernel` });
      return;
    }
    this.record(nr, this.program.reach.pathTo(symbol));
    // a bypass function takes the syscall's arguments as its own
    if (this.program.familySyscalls.has(nr)) this.familyAt(symbol, address, { parameter: 'rdi' }, [symbol]);
  }

  /** libc's socket()/socketpair() by name as well: the constant first argument at each reachable call */
  addSocketCall(edge: CallEdge): void {
    const { reach, socketFunctions } = this.program;
    if (edge.to === null || edge.from === null || !socketFunctions.has(edge.to) || socketFunctions.has(edge.from) || !reach.isReached(edge.from)) return;
    const family = edge.constantArguments?.rdi;
    if (family !== undefined) this.recordFamily(family, [...reach.pathTo(edge.from), edge.to]);
    else if (edge.forwardedParameters?.rdi !== undefined) this.traceArgument(edge.from, edge.forwardedParameters.rdi, [edge.from, edge.to], edge.site);
    else this.unknownFamilies.push({ function: edge.from, address: edge.site });
  }

  /** the findings in the report's terms, numbers named by `syscallNames` */
  report(syscallNames: ReadonlyMap<number, string>): {
    syscalls: Array<{ nr: number; name: string; path: string[] }>;
    unresolved: UnresolvedSite[];
    socketFamilies: string[];
    socketFamilyPaths: Record<string, string[]>;
    unknownSocketFamilies: UnknownFamilySite[];
  } {
    return {
      syscalls: [...this.paths.entries()]
        .filter(([nr]) => nr >= 0)
        .sort(([a], [b]) => a - b)
        .map(([nr, path]) => ({ nr, name: syscallNames.get(nr) ?? `syscall_${nr}`, path })),
      unresolved: this.unresolved,
      socketFamilies: [...this.familyPaths.keys()].sort(),
      socketFamilyPaths: Object.fromEntries([...this.familyPaths].sort(([a], [b]) => a.localeCompare(b))),
      unknownSocketFamilies: dedupeSites(this.unknownFamilies),
    };
  }

  private record(nr: number, path: string[]): void {
    const old = this.paths.get(nr);
    if (old === undefined || path.length < old.length) this.paths.set(nr, path);
  }

  private recordFamily(family: number, path: string[]): void {
    if (family === AF_UNSPEC) return;
    const name = ADDRESS_FAMILIES[family] ?? `AF_${family}`;
    const old = this.familyPaths.get(name);
    if (old === undefined || path.length < old.length) this.familyPaths.set(name, path);
  }

  /**
   * A socket/socketpair syscall was found with its first argument as `fn` sees it: a constant
   * is the family; a parameter is followed through the callers like a wrapper's number.
   * (Inside libc's own socket()/socketpair() a lost argument is no loss: the calls to those
   * functions are checked by name, addSocketCall.)
   */
  private familyAt(fn: string | null, address: number, argument: ArgumentSource | undefined, chain: string[]): void {
    if (argument !== undefined && 'constant' in argument) return this.recordFamily(argument.constant, fn === null ? chain : [...this.program.reach.pathTo(fn), ...chain.slice(1)]);
    if (fn === null || argument === undefined) {
      if (fn === null || !this.program.socketFunctions.has(fn)) this.unknownFamilies.push({ function: fn ?? `<code at 0x${address.toString(16)}>`, address });
      return;
    }
    this.traceArgument(fn, argument.parameter, chain, address);
  }

  /** the number comes from callers: follow them (through wrappers of wrappers) to constants */
  private resolveWrapper(start: WrapperTask, siteAddress: number): void {
    const seen = new Set<string>();
    const work: WrapperTask[] = [start];
    for (let task = work.pop(); task !== undefined; task = work.pop()) {
      const key = `${task.fn}:${task.register}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (this.program.callableFromOutside(task.fn)) {
        this.openWrappers.push(task);
        this.unresolved.push({ function: task.fn, address: siteAddress, reason: `may be any syscall: ${task.fn} takes the number in ${task.register} and may be called indirectly` });
      }
      for (const edge of this.reachedCallersOf(task.fn)) {
        const next = this.numberAtCaller(task, edge);
        if (next !== undefined) work.push(next);
      }
    }
  }

  /** what the caller passes the wrapper at this edge: a constant is found; a parameter of its own is the next task */
  private numberAtCaller(task: WrapperTask, edge: CallEdge & { from: string }): WrapperTask | undefined {
    const caller = edge.from;
    const constant = edge.constantArguments?.[task.register];
    const forwarded = edge.forwardedParameters?.[task.register];
    const argument = argumentAtCaller(edge, task.argument);
    if (constant !== undefined) {
      this.record(constant, [...this.program.reach.pathTo(caller), ...task.chain]);
      if (this.program.familySyscalls.has(constant)) this.familyAt(caller, edge.site, argument, [caller, ...task.chain]);
      return undefined;
    }
    if (forwarded !== undefined) return { fn: caller, register: forwarded, chain: [caller, ...task.chain], ...(argument ? { argument } : {}) };
    this.unresolved.push({ function: caller, address: edge.site, reason: `may be any syscall: passes a computed ${task.register} to the syscall wrapper ${task.chain.join(' → ')}` });
    return undefined;
  }

  /** the callers of `fn` pass the family in `register`: follow them to constants */
  private traceArgument(fn: string, register: GprName, chain: string[], siteAddress: number): void {
    const { reach, socketFunctions } = this.program;
    const seen = new Set<string>();
    const work = [{ fn, register, chain }];
    for (let task = work.pop(); task !== undefined; task = work.pop()) {
      const key = `${task.fn}:${task.register}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (this.program.callableFromOutside(task.fn) && !socketFunctions.has(task.fn)) this.unknownFamilies.push({ function: task.fn, address: siteAddress });
      for (const edge of this.reachedCallersOf(task.fn)) {
        const caller = edge.from;
        const constant = edge.constantArguments?.[task.register];
        const forwarded = edge.forwardedParameters?.[task.register];
        if (constant !== undefined) this.recordFamily(constant, [...reach.pathTo(caller), ...task.chain]);
        else if (forwarded !== undefined) work.push({ fn: caller, register: forwarded, chain: [caller, ...task.chain] });
        else if (!socketFunctions.has(task.fn)) this.unknownFamilies.push({ function: caller, address: edge.site });
      }
    }
  }

  /** the calls into `fn` from other functions that are reached */
  private reachedCallersOf(fn: string): Array<CallEdge & { from: string }> {
    const calls = this.program.callersOf.get(fn) ?? [];
    return calls.filter((edge): edge is CallEdge & { from: string } => edge.from !== null && edge.from !== fn && this.program.reach.isReached(edge.from));
  }
}

/**
 * Where the syscall's first argument is, seen from the caller at a call edge: a constant stays
 * one; a parameter of the callee is what the caller put in that register.
 */
function argumentAtCaller(edge: CallEdge, argument: ArgumentSource | undefined): ArgumentSource | undefined {
  if (argument === undefined || 'constant' in argument) return argument;
  const constant = edge.constantArguments?.[argument.parameter];
  if (constant !== undefined) return { constant };
  const forwarded = edge.forwardedParameters?.[argument.parameter];
  return forwarded === undefined ? undefined : { parameter: forwarded };
}

function dedupeSites<T extends { function: string; address: number }>(sites: T[]): T[] {
  const seen = new Set<string>();
  return sites.filter((s) => {
    const key = `${s.function}@${s.address}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
