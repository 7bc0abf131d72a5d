#!/usr/bin/env bash
# The bundled example end to end: the echo server → ukl-trim → the smallest kernel config that
# runs it (with a reason for every option) → kernel + initramfs → a QEMU boot that proves a TCP
# line comes back through QEMU's user network on 127.0.0.1.
#
#   run.sh [OUT]          initramfs mode: echo.o linked with glibc, the app runs as /app
#   run.sh --ukl [OUT]    UKL mode: built with `ukl-trim cc` (musl for UKL), linked into the kernel;
#                         the UKL tree is $UKL_TRIM_UKL_KERNEL, or Debian's tarball patched with
#                         $UKL_TRIM_UKL_PATCH (default: ../shared/ukl/ukl-rfc-6.1.192.diff beside
#                         this checkout)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
ukltrim=(node "$root/bin/ukl-trim.js")

if [[ "${1:-}" == "--ukl" ]]; then
  out="${2:-$root/out/echo-ukl}"
  mkdir -p "$out"
  if [[ -n "${UKL_TRIM_UKL_KERNEL:-}" ]]; then
    kernel=(--kernel "$UKL_TRIM_UKL_KERNEL")
  else
    patch="${UKL_TRIM_UKL_PATCH:-$root/../shared/ukl/ukl-rfc-6.1.192.diff}"
    [[ -f "$patch" ]] || { echo "run.sh --ukl: no UKL tree: set UKL_TRIM_UKL_KERNEL to one, or UKL_TRIM_UKL_PATCH to the UKL series" >&2; exit 2; }
    kernel=(--kernel /usr/src/linux-source-6.1.tar.xz --patch "$patch")
  fi
  # as `make CC='ukl-trim cc'` would: compile, then the final link writes the UKL archive
  "${ukltrim[@]}" cc -O2 -c -o "$out/echo.o" "$here/echo.c"
  "${ukltrim[@]}" cc -o "$out/echo" "$out/echo.o"
  exec "${ukltrim[@]}" "$out/echo" --mode ukl "${kernel[@]}" \
    -o "$out/.config" --fragment "$out/echo.fragment" --explain INET --explain UKL_TLS \
    --build "$out" --boot --app-arg 7777 --expect 'echo-server: listening on 7777' --tcp-echo 7777
fi

out="${1:-$root/out/echo}"
mkdir -p "$out"
gcc -O2 -c -o "$out/echo.o" "$here/echo.c"
exec "${ukltrim[@]}" "$out/echo.o" --libc glibc \
  -o "$out/.config" --fragment "$out/echo.fragment" --explain EPOLL --explain VIRTIO_NET \
  --build "$out" --boot --app-arg 7777 --expect 'echo-server: listening on 7777' --tcp-echo 7777
