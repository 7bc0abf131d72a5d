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
  libevent-dev redis-tools libmemcached-tools
  libevent-2.1-7 libsasl2-2 libssl3
)
commands=(gcc make flex bison bc cpio xz tar patch strace musl-gcc clang llvm-dis lto-dump-12 qemu-system-x86_64 dig ccache distcc distccd nm chromium
  redis-cli memccp memccat memcstat)
files=(/usr/src/linux-source-6.1.tar.xz /usr/lib/x86_64-linux-gnu/libevent.a)

say() { printf 'setup: %s\n' "$*" >&2; }

# code-server (VS Code in the browser) for test/editors/code-server.test.ts, which installs the
# extension's .vsix into it. The version is the one test/editors/code-server-install.ts expects
# (the newest whose postinstall accepts Node 20); it comes from npm into ukl-trim's cache.
# Its postinstall runs `npm install` in its copy of VS Code, which compiles the native modules
# with node-gyp against this Node (g++, python3, libkrb5-dev), and whose packages would fetch from
# GitHub: prebuilt binaries (argon2, kerberos; npm_config_build_from_source turns that off) and
# ripgrep (@vscode/ripgrep 1.15.11 looks in its download cache under $TMPDIR first, which gets
# Debian's rg 13.0.0, the release its v13.0.0-10 build is of). node-pty's postinstall runs
# `npx node-gyp`, which npm_config_yes lets npx take from the npm registry.
CODE_SERVER_VERSION=4.100.3
packages+=(g++ python3 libkrb5-dev ripgrep)
commands+=(g++ python3 rg)
cache_home=${XDG_CACHE_HOME:-}
[[ $cache_home == /* ]] || cache_home=$HOME/.cache
CODE_SERVER_DIR=$cache_home/ukl-trim/code-server-$CODE_SERVER_VERSION
CODE_SERVER_BIN=$CODE_SERVER_DIR/node_modules/.bin/code-server
files+=("$CODE_SERVER_BIN")

install_code_server() {
  [[ -x $CODE_SERVER_BIN ]] && return 0
  local tool work log rg_cache
  for tool in npm node g++ python3 rg; do
    command -v "$tool" >/dev/null || return 0 # reported with the rest below
  done
  work=$(mktemp -d)
  log=$work/npm.log
  rg_cache=$work/tmp/vscode-ripgrep-cache-1.15.11
  mkdir -p "$rg_cache" "$work/rg" "$work/pkg"
  cp "$(command -v rg)" "$work/rg/rg"
  tar -czf "$rg_cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C "$work/rg" rg
  printf '%s\n' '{ "name": "ukl-trim-code-server", "private": true }' >"$work/pkg/package.json"
  say "installing code-server $CODE_SERVER_VERSION from npm into $CODE_SERVER_DIR (it compiles native modules: minutes)"
  if (cd "$work/pkg" && TMPDIR=$work/tmp npm_config_build_from_source=true npm_config_unsafe_perm=true npm_config_yes=true \
    npm install --no-audit --no-fund --save-exact "code-server@$CODE_SERVER_VERSION") >"$log" 2>&1; then
    mkdir -p "${CODE_SERVER_DIR%/*}"
    rm -rf "$CODE_SERVER_DIR"
    mv "$work/pkg" "$CODE_SERVER_DIR"
  else
    say "npm install code-server@$CODE_SERVER_VERSION failed:"
    tail -n 30 "$log" >&2
  fi
  rm -rf "$work"
}

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

install_code_server

mapfile -t missing < <(missing_requirements)
if ((${#missing[@]} > 0)); then
  say "missing:"
  printf '  %s\n' "${missing[@]}" >&2
  if ! can_use_apt; then
    say "on Debian 12, as root: apt-get install ${packages[*]}"
  fi
  exit 1
fi
