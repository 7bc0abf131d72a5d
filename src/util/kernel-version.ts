/** Reading the kernel version from a tree's top-level Makefile: Kconfig (KERNELVERSION) and tree resolution both need it. */

/** A `NAME = value` (or `:=`) assignment of the Makefile; undefined when absent or empty. */
export function makefileVariable(makefile: string, name: string): string | undefined {
  const value = new RegExp(`^${name}[ \\t]*:?=[ \\t]*(.*?)[ \\t]*$`, 'm').exec(makefile)?.[1];
  return value === undefined || value === '' ? undefined : value;
}

/**
 * KERNELVERSION as the Makefile computes it:
 * $(VERSION)$(if $(PATCHLEVEL),.$(PATCHLEVEL)$(if $(SUBLEVEL),.$(SUBLEVEL)))$(EXTRAVERSION);
 * null when the Makefile sets no VERSION (not a kernel tree).
 */
export function kernelVersionFromMakefile(makefile: string): string | null {
  const version = makefileVariable(makefile, 'VERSION');
  if (!version) return null;
  const patchlevel = makefileVariable(makefile, 'PATCHLEVEL');
  const sublevel = makefileVariable(makefile, 'SUBLEVEL');
  const extraversion = makefileVariable(makefile, 'EXTRAVERSION') ?? '';
  const numbers = patchlevel ? `${version}.${patchlevel}${sublevel ? `.${sublevel}` : ''}` : version;
  return numbers + extraversion;
}
