#!/usr/bin/env bash
# Run the kernel's real `conf` (the oracle) on a mini Kconfig tree and print what it writes.
#
#   test/tools/oracle-mini.sh CASE_DIR MODE [INPUT]
#
# CASE_DIR  a directory holding `Kconfig` (e.g. fixtures/kconfig/imply-unmet)
# MODE      allnoconfig | allyesconfig | allmodconfig | alldefconfig   (INPUT = KCONFIG_ALLCONFIG file)
#           olddefconfig | savedefconfig | syncconfig                 (INPUT = the .config read; none: no .config)
#           defconfig                                                  (INPUT = the defconfig file, required)
#           parse                                                      (alldefconfig, output discarded: for errors)
#           helpnewconfig                                              (conf's stdout: the help of every new symbol)
# INPUT     a file, relative to CASE_DIR or absolute
#
# stdout: the file conf wrote (.config, or the defconfig for savedefconfig; for syncconfig the
#         four files .config, auto.conf, autoconf.h, rustc_cfg, each after a `==> NAME <==` line)
# stderr: conf's stderr (warnings, errors)
# exit:   conf's exit status
#
# conf runs in a scratch copy of CASE_DIR (cwd = srctree = the copy) with an empty environment
# except PATH and the KEY=VALUE lines of CASE_DIR/oracle.env, if present.
# CONF names the conf binary (default $ORACLE_CONF), e.g. scripts/kconfig/conf of a built tree.
#
# The vitest suites re-verify all of their hard-coded expectations with this script when run as
#   ORACLE_CONF=$KERNEL_OBJ/scripts/kconfig/conf npx vitest run test/kconfig-corner-cases.test.ts test/kconfig-language.test.ts
set -u
CONF=${CONF:-${ORACLE_CONF:-}}
if [ $# -lt 2 ]; then
  sed -n '2,23p' "$0" >&2
  exit 2
fi
case_dir=$(cd "$1" && pwd) || exit 2
mode=$2
input=${3:-}
if [ -n "$input" ] && [ "${input#/}" = "$input" ]; then input=$case_dir/$input; fi
if [ -n "$input" ] && [ ! -f "$input" ]; then echo "oracle-mini: no such input file: $input" >&2; exit 2; fi
[ -x "$CONF" ] || { echo "oracle-mini: conf binary not found: '$CONF' (set CONF or ORACLE_CONF)" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/src"
cp -R "$case_dir/." "$tmp/src/"
rm -f "$tmp/src/.config"
dir=$tmp/src

envs=(PATH="$PATH" srctree="$dir" KCONFIG_CONFIG="$tmp/out.config"
      KCONFIG_AUTOCONFIG="$tmp/auto.conf" KCONFIG_AUTOHEADER="$tmp/autoconf.h" KCONFIG_RUSTCCFG="$tmp/rustc_cfg")
if [ -f "$case_dir/oracle.env" ]; then
  while IFS= read -r l; do [ -n "$l" ] && envs+=("$l"); done < "$case_dir/oracle.env"
fi

args=(-s)
out=$tmp/out.config
case $mode in
  allnoconfig|allyesconfig|allmodconfig|alldefconfig)
    args+=(--$mode)
    [ -n "$input" ] && envs+=(KCONFIG_ALLCONFIG="$input") ;;
  parse)
    args+=(--alldefconfig) ;;
  helpnewconfig)
    args=(--helpnewconfig)
    [ -n "$input" ] && cp "$input" "$tmp/out.config" ;;
  olddefconfig|syncconfig)
    args+=(--$mode)
    [ -n "$input" ] && cp "$input" "$tmp/out.config" ;;
  savedefconfig)
    args+=(--savedefconfig="$tmp/defconfig")
    out=$tmp/defconfig
    [ -n "$input" ] && cp "$input" "$tmp/out.config" ;;
  defconfig)
    [ -n "$input" ] || { echo "oracle-mini: defconfig needs INPUT" >&2; exit 2; }
    args+=(--defconfig="$input") ;;
  *) echo "oracle-mini: unknown mode $mode" >&2; exit 2 ;;
esac

(cd "$dir" && env -i "${envs[@]}" "$CONF" "${args[@]}" Kconfig < /dev/null > "$tmp/stdout")
rc=$?
if [ "$mode" = parse ]; then
  :
elif [ "$mode" = helpnewconfig ]; then
  cat "$tmp/stdout"
elif [ "$mode" = syncconfig ]; then
  for f in out.config auto.conf autoconf.h rustc_cfg; do
    printf '==> %s <==\n' "${f/out.config/.config}"
    [ -f "$tmp/$f" ] && cat "$tmp/$f"
  done
elif [ -f "$out" ]; then
  cat "$out"
fi
exit $rc
