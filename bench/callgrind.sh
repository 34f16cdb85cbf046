#!/bin/bash
# Instructions per event of tracetape's recording, per thread, under callgrind:
# the difference between two sizes of a workload, divided by the difference in
# events, so that start-up and teardown cancel out. Steadier than wall time on a
# noisy machine; the README's instruction tables come from it.
#
#   bench/callgrind.sh PYTHON WORKLOAD LOCALS SMALL LARGE [BACKEND]
#
#   PYTHON    an interpreter with tracetape installed (.venv/py3.12/bin/python)
#   WORKLOAD  call, line or object (bench/workloads/WORKLOAD_heavy.py)
#   LOCALS    all, args or none (--locals)
#   SMALL, LARGE  the workload's sizes: e.g. call 18 22, line 100000 300000,
#             object 10000 30000
#   BACKEND   settrace or monitoring (TRACETAPE_BACKEND); default: tracetape's
#
# Prints `t0=N t1=M`: the recording (main) thread and the tape writer thread.
# Needs valgrind (apt-get install valgrind).
set -euo pipefail
if [ $# -lt 5 ]; then sed -n 2,17p "$0" >&2; exit 2; fi
py=$1 workload=$2 locals=$3 small=$4 large=$5
here=$(cd "$(dirname "$0")" && pwd)
script=$here/workloads/${workload}_heavy.py
[ -f "$script" ] || { echo "error: no workload $script" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "error: valgrind is not installed" >&2; exit 2; }
[ $# -ge 6 ] && export TRACETAPE_BACKEND=$6
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export PYTHONHASHSEED=0

# Ir per thread of one recorded run, in thread order.
instructions() {
  valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$tmp/cg.$1" \
    "$py" -m tracetape record -o "$tmp/cg.tape" --locals "$locals" "$script" "$1" >/dev/null 2>&1
  for f in "$tmp"/cg."$1"-*; do grep -m1 '^summary:' "$f" | awk '{print $2}'; done
}
# Events of a run of that size (the same for every --locals).
events() {
  "$py" -m tracetape record -o "$tmp/ev.tape" --locals none "$script" "$1" >/dev/null 2>&1
  "$py" -m tracetape info "$tmp/ev.tape" | awk '/^events:/ {gsub(",", "", $2); print $2; exit}'
}
mapfile -t a < <(instructions "$small")
mapfile -t b < <(instructions "$large")
ea=$(events "$small")
eb=$(events "$large")
out="$workload --locals $locals (${TRACETAPE_BACKEND:-default backend}), $ea -> $eb events:"
for i in "${!a[@]}"; do out+=" t$i=$(( (b[i] - a[i]) / (eb - ea) ))"; done
echo "$out"
