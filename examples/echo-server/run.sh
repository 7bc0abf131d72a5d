#!/usr/bin/env bash
# The bundled example end to end: a config for the echo server (tinyconfig plus the options it and
# a QEMU network guest need), the kernel and initramfs, then a boot that proves a TCP echo works.
# Until the minimizer lands, the config comes from a hand-written fragment.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/../.."
out="${1:-$root/out/echo}"
mkdir -p "$out"
ukl() { node "$root/bin/ukl-trim.js" "$@"; }

gcc -static -O2 -o "$out/echo" "$here/echo.c"
ukl conf --arch x86_64 --tinyconfig --merge "$root/fixtures/kernel-configs/syscalls-many.config" --out "$out/.config"
ukl build --config "$out/.config" --app "$out/echo" --out "$out"
ukl boot --image "$out/bzImage" --initrd "$out/initramfs.cpio" --expect 'echo-server: listening' --tcp-echo 7777
