#!/bin/bash
# A/B of one initial copy (1 GiB, fully written, A -> B on one host) between two builds of rcopy,
# run in alternation so that machine noise falls on both alike:
#   bench/ab-initial-copy.sh /path/to/old/bin/rcopy /path/to/new/bin/rcopy [ROUNDS]
# Prints one line per run: the build and the seconds `pair create --wait` took.
set -euo pipefail
old=${1:?old rcopy}; new=${2:?new rcopy}; rounds=${3:-2}
run() {
  local bin=$1 label=$2 home
  home=$(mktemp -d "${TMPDIR:-/tmp}/rcopy-ab-XXXX")
  trap 'RCOPY_HOME=$home $bin array stop --all >/dev/null 2>&1 || true; rm -rf "$home"' RETURN
  export RCOPY_HOME=$home
  $bin array create A >/dev/null && $bin array create B >/dev/null
  $bin volume create A:v --size 1G >/dev/null && $bin volume create B:v --size 1G >/dev/null
  $bin io write A:v --pattern random --length 1G --seed 1 >/dev/null
  $bin journal create A:j1 --size 256M >/dev/null && $bin journal create B:j2 --size 256M >/dev/null
  $bin link add A B >/dev/null
  sync
  local t0 t1
  t0=$(date +%s.%N)
  $bin pair create A:v B:v --journal A:j1,B:j2 --wait --timeout 10m >/dev/null
  t1=$(date +%s.%N)
  awk -v l="$label" -v a="$t0" -v b="$t1" 'BEGIN { printf "%s %.3f\n", l, b - a }'
}
for _ in $(seq "$rounds"); do
  run "$old" old
  run "$new" new
done
