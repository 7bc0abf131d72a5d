#!/usr/bin/env bash
# The bundled example end to end: the echo server's object file → ukl-trim → the smallest kernel
# config that runs it (with a reason for every option) → kernel + initramfs → a QEMU boot that
# proves a TCP line comes back through QEMU's user network on 127.0.0.1.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/../.."
out="${1:-$root/out/echo}"
mkdir -p "$out"

gcc -O2 -c -o "$out/echo.o" "$here/echo.c"
node "$root/bin/ukl-trim.js" "$out/echo.o" --libc glibc \
  -o "$out/.config" --fragment "$out/echo.fragment" --explain EPOLL --explain VIRTIO_NET \
  --build "$out" --boot --app-arg 7777 --expect 'echo-server: listening on 7777' --tcp-echo 7777
