#!/usr/bin/env bash
# Puts on this machine what ukl-trim needs: the kernel source, the kernel's build tools, the
# compilers that build the application, and the tracers/emulator that check a trimmed kernel.
# As root on Debian it installs the missing packages; anywhere else it only reports what is
# missing. Safe to run again: with everything in place it does nothing. Exit 1 if anything is
# still missing at the end.
set -euo pipefail

packages=(
  linux-source-6.1 linux-config-6.1 flex bison bc libelf-dev libssl-dev cpio strace
  musl-tools clang llvm gcc gcc-12 make xz-utils qemu-system-x86 neovim dwarves time unzip patch
  linux-libc-dev bind9-dnsutils dpkg-dev ccache distcc chromium
)
commands=(gcc make flex bison bc cpio xz tar patch strace musl-gcc clang llvm-dis lto-dump-12 qemu-system-x86_64 dig ccache distcc distccd nm chromium)
files=(/usr/src/linux-source-6.1.tar.xz)

say() { printf 'setup: %s\n' "$*" >&2; }

can_use_apt() {
  [[ $(id -u) == 0 && -r /etc/debian_version ]] && command -v apt-get >/dev/null && command -v dpkg-query >/dev/null
}

# Packages not fully installed ("ii"), one per line.
missing_packages() {
  local package status
  for package in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$package" 2>/dev/null || true)
    [[ $status == ii* ]] || printf '%s\n' "$package"
  done
}

# Commands and files the project runs or reads that are not there, one per line.
missing_requirements() {
  local command file
  for command in "${commands[@]}"; do
    command -v "$command" >/dev/null || printf 'command %s\n' "$command"
  done
  for file in "${files[@]}"; do
    [[ -e $file ]] || printf 'file %s\n' "$file"
  done
}

# apt-get, quiet unless it fails; retried once because CI's network can hiccup.
apt_quietly() {
  local log attempt
  log=$(mktemp)
  for attempt in 1 2; do
    # wait for a dpkg lock held by another apt run instead of failing at once
    if apt-get -qq -o DPkg::Lock::Timeout=300 "$@" >"$log" 2>&1; then
      rm -f "$log"
      return 0
    fi
    [[ $attempt == 1 ]] && sleep 5
  done
  say "apt-get $* failed:"
  tail -n 20 "$log" >&2
  rm -f "$log"
  return 1
}

# Debian's source packages (musl for musl-ukl, the real programs of the UKL tests) come through
# `apt-get source`, which needs a deb-src entry; bookworm's main archive, like the binary one.
SOURCES_ENTRY=/etc/apt/sources.list.d/ukl-trim-src.sources
add_source_entry() {
  [[ -e $SOURCES_ENTRY ]] && return 1
  grep -rqs '^Types:.*deb-src\|^deb-src ' /etc/apt/sources.list /etc/apt/sources.list.d/ && return 1
  printf '%s\n' 'Types: deb-src' 'URIs: http://deb.debian.org/debian' 'Suites: bookworm' 'Components: main' \
    'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' >"$SOURCES_ENTRY"
  say "added Debian's bookworm source archive ($SOURCES_ENTRY)"
}

if can_use_apt; then
  if add_source_entry; then apt_quietly update; fi
  mapfile -t to_install < <(missing_packages)
  if ((${#to_install[@]} > 0)); then
    export DEBIAN_FRONTEND=noninteractive
    say "installing ${to_install[*]}"
    apt_quietly update
    apt_quietly install -y --no-install-recommends "${to_install[@]}"
  fi
fi

mapfile -t missing < <(missing_requirements)
if ((${#missing[@]} > 0)); then
  say "missing:"
  printf '  %s\n' "${missing[@]}" >&2
  if ! can_use_apt; then
    say "on Debian 12, as root: apt-get install ${packages[*]}"
  fi
  exit 1
fi
