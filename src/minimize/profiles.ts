import type { Requirement } from './requirements.js';

/**
 * Boot profiles: what a machine and our boot path need from the kernel, whatever the app.
 * Each item says why, so explanations can point at it.
 */
export interface BootProfile {
  name: string;
  description: string;
  arches: readonly string[];
  /** needed for every app */
  always: ReadonlyArray<{ expression: string; why: string }>;
  /** needed when the app talks IPv4/IPv6 to the outside (the NIC and its bus) */
  network: ReadonlyArray<{ expression: string; why: string }>;
  /**
   * needed by our init in the initramfs, in both modes: in UKL mode it too runs first, brings the
   * network up and execs the trigger
   */
  init: ReadonlyArray<{ expression: string; why: string }>;
}

export const PROFILES: Readonly<Record<string, BootProfile>> = {
  'qemu-x86_64': {
    name: 'qemu-x86_64',
    description: 'qemu-system-x86_64 (pc machine), serial console on ttyS0, virtio-net-pci NIC with user networking, uncompressed cpio initramfs',
    arches: ['x86_64', 'x86'],
    always: [
      { expression: 'TTY', why: 'the console is a tty (console=ttyS0)' },
      { expression: 'SERIAL_8250', why: 'the pc machine has a 16550A UART on ttyS0' },
      { expression: 'SERIAL_8250_CONSOLE', why: 'kernel and app output go to the serial console the boot test reads' },
      { expression: 'PRINTK', why: 'kernel messages (boot progress, panics) reach the console' },
      { expression: 'BLK_DEV_INITRD', why: 'the app (or UKL trigger) comes in an initramfs' },
    ],
    network: [
      { expression: 'PCI', why: 'QEMU attaches the NIC to the PCI bus (virtio-net-pci)' },
      { expression: 'VIRTIO_PCI', why: 'the NIC is a virtio device on PCI' },
      { expression: 'NETDEVICES', why: 'network device support for the NIC' },
      { expression: 'VIRTIO_NET', why: 'driver of the virtio-net-pci NIC QEMU provides' },
      { expression: 'INET', why: 'the init configures eth0 with an IPv4 address (10.0.2.15/24 by default)' },
    ],
    init: [
      {
        expression: 'BINFMT_ELF',
        why: "the kernel execs /init and the app, static ELF executables (in UKL mode the exec of the trigger also goes through the ELF loader, which starts ukl__start)",
      },
      { expression: 'PROC_FS', why: 'the init mounts /proc and reads /proc/cmdline (ukl.ip=, ukl.args=)' },
      { expression: 'SYSFS', why: 'the init mounts /sys' },
    ],
  },
};

export function profileNames(): string[] {
  return Object.keys(PROFILES);
}

/** the profile's requirements; the same in both modes, which both boot through our init */
export function profileRequirements(profile: BootProfile, opts: { network: boolean }): Requirement[] {
  const items = [...profile.always, ...(opts.network ? profile.network : []), ...profile.init];
  return items.map((i) => ({ expression: i.expression, kind: 'profile' as const, detail: `${profile.name}: ${i.why}` }));
}

/** Socket families that make the app a network app: the NIC and its configuration are needed. */
export const NETWORK_FAMILIES: ReadonlySet<string> = new Set(['AF_INET', 'AF_INET6', 'AF_PACKET']);
