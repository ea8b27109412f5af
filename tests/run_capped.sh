#!/bin/bash
# Runs a command with the cpu backend capped at an instruction-set level:
#   run_capped.sh LEVEL COMMAND...     (LEVEL: avx2 | scalar)
# Exits 77 (ctest's skip) when the machine's own level is not above LEVEL: the
# ordinary run already takes that path there. The levels are those of
# src/backends/cpu/isa.cpp: avx512 = AVX-512 F/BW/DQ/VL with FMA, avx2 = AVX2 with FMA.
set -euo pipefail
level=$1
shift
flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
has() { for f in "$@"; do [[ $flags == *" $f "* ]] || return 1; done; }
case $level in
  avx2) has avx512f avx512bw avx512dq avx512vl fma || { echo "no AVX-512 here: the default run is the avx2 path"; exit 77; } ;;
  scalar) has avx2 fma || { echo "no AVX2 here: the default run is the scalar path"; exit 77; } ;;
  *) echo "run_capped.sh: unknown level '$level' (avx2 | scalar)" >&2; exit 2 ;;
esac
export WAFER_CPU_ISA=$level
exec "$@"
