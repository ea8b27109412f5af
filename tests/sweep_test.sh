#!/usr/bin/env bash
# Every way of running a sweep prints and writes exactly what the serial `wafer sweep` does:
#   sweep_test.sh WAFER SOURCE_DIR WORK cli      threads, shards + sweep-merge, a killed sweep resumed,
#                                                the Slurm script's flow, and the errors
#   sweep_test.sh WAFER SOURCE_DIR WORK mpi      mpirun -n 2 and -n 3 ... --mpi
#   sweep_test.sh WAFER SOURCE_DIR WORK browser  sweep.html rendered by headless chromium: one marker per
#                                                valid design, and the script's front = wafer's front
# Each variant runs in a folder of its own with --out ., so even the "written to ." line must match.
set -euo pipefail
wafer=$(realpath "$1")
src=$(realpath "$2")
work=$3
mode=$4
rm -rf "$work"
mkdir -p "$work"
work=$(realpath "$work")
model=$src/models/resnet20
# 9 designs: those with 0 rows are invalid descriptions, those with 1 KiB of scratchpad fail to compile
# (results of the sweep, not errors); 4 are valid.
args=("$model" --hw tpu-v1 --set "cores.matrix.rows=0,32,64" --set "cores.scratchpad.size=1 KiB,2 MiB,24 MiB" -q)

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
# run NAME CMD...: runs CMD in $work/NAME (created), stdout to NAME/stdout, stderr to NAME/stderr.
run() {
  local name=$1
  shift
  mkdir -p "$work/$name"
  (cd "$work/$name" && "$@" >stdout 2>stderr)
}
# same NAME: NAME's stdout and files are the serial sweep's, byte for byte.
same() {
  for f in stdout sweep.csv sweep.json sweep.html; do
    cmp -s "$work/serial/$f" "$work/$1/$f" || {
      diff "$work/serial/$f" "$work/$1/$f" | head -20 >&2
      fail "$1: $f differs from the serial sweep's"
    }
  done
  echo "ok: $1 = serial"
}
# error NAME TEXT CMD...: CMD exits 2 and says TEXT on stderr.
error() {
  local name=$1 text=$2
  shift 2
  local rc=0
  run "$name" "$@" || rc=$?
  [[ $rc == 2 ]] || fail "$name: exit code $rc, expected 2"
  grep -qF -- "$text" "$work/$name/stderr" || fail "$name: stderr lacks '$text': $(cat "$work/$name/stderr")"
  echo "ok: $name: $(cat "$work/$name/stderr")"
}

run serial "$wafer" sweep "${args[@]}" --out .
grep -q "9 design(s), 4 valid" "$work/serial/stdout" || fail "serial: $(cat "$work/serial/stdout")"

case $mode in
cli)
  run jobs2 "$wafer" sweep "${args[@]}" --out . --jobs 2
  same jobs2
  run jobs0 "$wafer" sweep "${args[@]}" --out . --jobs 0
  same jobs0
  run json_serial "$wafer" sweep "${args[@]}" --out "" --json
  run json_jobs "$wafer" sweep "${args[@]}" --out "" --json -j 3
  cmp -s "$work/json_serial/stdout" "$work/json_jobs/stdout" || fail "--json with --jobs 3 differs"

  # Three shards, then sweep-merge of their files in another order.
  for i in 0 1 2; do
    run shards "$wafer" sweep "${args[@]}" --shard $i/3 --resume shard-$i.jsonl
    grep -q "shard $i/3 of sweep of resnet20 over tpu-v1 (batch 1): 3 design(s) evaluated" "$work/shards/stdout" ||
      fail "shard $i: $(cat "$work/shards/stdout")"
  done
  run merged "$wafer" sweep-merge "$work/shards/shard-2.jsonl" "$work/shards/shard-0.jsonl" "$work/shards/shard-1.jsonl" --out .
  same merged
  error merge_missing "3 of the sweep's 9 design points are missing (#2, 5, 8)" \
    "$wafer" sweep-merge "$work/shards/shard-0.jsonl" "$work/shards/shard-2.jsonl"

  # A sweep killed after two points, in the middle of writing the third: the file is cut to its
  # header, two points and half a line; the same command again runs only the seven others.
  run full "$wafer" sweep "${args[@]}" --out "" --results full.jsonl
  [[ $(wc -l <"$work/full/full.jsonl") == 10 ]] || fail "full.jsonl: expected a header and 9 points"
  mkdir -p "$work/resumed"
  { head -n 3 "$work/full/full.jsonl"; sed -n 4p "$work/full/full.jsonl" | head -c 40; } >"$work/resumed/r.jsonl"
  run resumed "$wafer" sweep "${args[@]}" --out . --resume r.jsonl
  same resumed
  [[ $(wc -l <"$work/resumed/r.jsonl") == 10 ]] || fail "resumed r.jsonl: expected a header and 9 complete points"
  # Resuming a finished sweep evaluates nothing and still prints the whole sweep.
  run resumed "$wafer" sweep "${args[@]}" --out . --resume r.jsonl
  same resumed
  [[ $(wc -l <"$work/resumed/r.jsonl") == 10 ]] || fail "a finished sweep resumed appended points"

  # A real kill: SIGKILL while the sweep is writing its points, then the same command again. When the
  # kill comes after the last point the resumed run has nothing left to do, and must still print it all.
  big=("$model" --hw tpu-v1 --set cores.matrix.rows=16,32,64,128,256 --set cores.matrix.cols=16,32,64,128,256
    --set "cores.scratchpad.size=2 MiB,24 MiB" -q --out "" --json)
  run big_serial "$wafer" sweep "${big[@]}"
  mkdir -p "$work/killed"
  (cd "$work/killed" && exec "$wafer" sweep "${big[@]}" --resume k.jsonl >/dev/null 2>&1) &
  pid=$!
  for _ in $(seq 1000); do
    (($(cat "$work/killed/k.jsonl" 2>/dev/null | wc -l) >= 6)) && break
    sleep 0.005
  done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  done_before=$(($(wc -l <"$work/killed/k.jsonl") - 1))
  run killed "$wafer" sweep "${big[@]}" --resume k.jsonl
  cmp -s "$work/big_serial/stdout" "$work/killed/stdout" || fail "killed and resumed: --json differs from the serial sweep's"
  echo "ok: killed with $done_before of 50 points in the file, resumed = serial"


  error other_grid "r.jsonl: results of another sweep" \
    "$wafer" sweep "$model" --hw tpu-v1 --set "cores.matrix.rows=32,64" -q --out "" --resume "$work/resumed/r.jsonl"
  error other_batch "results of another sweep" \
    "$wafer" sweep "${args[@]}" --batch 2 --out "" --resume "$work/resumed/r.jsonl"
  mkdir -p "$work/other"
  "$wafer" sweep "$model" --hw tpu-v1 --set "cores.matrix.rows=32,64" -q --out "" --results "$work/other/o.jsonl" >/dev/null
  error merge_other "results of another sweep" \
    "$wafer" sweep-merge "$work/shards/shard-0.jsonl" "$work/other/o.jsonl"
  error merge_csv "not a wafer sweep results file" "$wafer" sweep-merge "$work/serial/sweep.csv"
  error merge_none "no such sweep results file" "$wafer" sweep-merge "$work/nothing.jsonl"
  error shard_range "--shard '3/3': shard i must be in 0..2" "$wafer" sweep "${args[@]}" --shard 3/3 --resume x.jsonl
  error shard_form "--shard 'two': expected i/N" "$wafer" sweep "${args[@]}" --shard two --resume x.jsonl
  error shard_file "--shard 0/2 needs --resume FILE" "$wafer" sweep "${args[@]}" --shard 0/2
  error jobs "--jobs -2" "$wafer" sweep "${args[@]}" --jobs -2
  error pareto "--pareto: unknown metric 'speed'" "$wafer" sweep "${args[@]}" --pareto x=speed,y=area

  # The Slurm job array's flow, with the variables Slurm would set.
  bash -n "$src/scripts/sweep.sbatch"
  for i in 0 1; do
    (cd "$work" && WAFER=$wafer SLURM_ARRAY_TASK_ID=$i SLURM_ARRAY_TASK_COUNT=2 SLURM_CPUS_PER_TASK=2 \
      "$src/scripts/sweep.sbatch" slurm-results "${args[@]}" >/dev/null)
  done
  run slurm env WAFER="$wafer" "$src/scripts/sweep.sbatch" merge "$work/slurm-results" --out .
  same slurm
  ;;
mpi)
  command -v mpirun >/dev/null || fail "mpirun not found: scripts/install-deps installs openmpi-bin"
  mpi=(mpirun --oversubscribe)
  # Open MPI refuses root unless told twice; an ordinary user needs nothing.
  [[ $(id -u) == 0 ]] && mpi+=(--allow-run-as-root)
  for n in 2 3; do
    run mpi$n "${mpi[@]}" -n $n "$wafer" sweep "${args[@]}" --out . --mpi
    same mpi$n
  done
  run mpi_shard "${mpi[@]}" -n 2 "$wafer" sweep "${args[@]}" --mpi --shard 1/2 --resume s1.jsonl
  run mpi_shard "$wafer" sweep "${args[@]}" --shard 0/2 --resume s0.jsonl
  run mpi_merged "$wafer" sweep-merge "$work/mpi_shard/s0.jsonl" "$work/mpi_shard/s1.jsonl" --out .
  same mpi_merged
  ;;
browser)
  chromium=$(command -v chromium || command -v chromium-browser || true)
  [[ -n $chromium ]] || fail "chromium not found: scripts/install-deps installs it"
  run plot "$wafer" sweep "${args[@]}" --out . --pareto x=latency,y=area
  # As root chromium needs --no-sandbox; a profile folder of its own keeps it off $HOME.
  rc=0
  timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --user-data-dir="$work/chromium-profile" --dump-dom "file://$work/plot/sweep.html" \
    >"$work/plot/dom.html" 2>"$work/plot/chromium.log" || rc=$?
  if [[ $rc != 0 || ! -s $work/plot/dom.html ]]; then
    echo "SKIP: chromium cannot run here (exit $rc): $(tail -n 3 "$work/plot/chromium.log")"
    exit 77
  fi
  /usr/bin/python3 - "$work/plot/dom.html" "$work/plot/sweep.json" <<'PY'
import json, re, sys
dom = open(sys.argv[1]).read()
sweep = json.load(open(sys.argv[2]))
valid = [i + 1 for i, p in enumerate(sweep["points"]) if p["valid"]]
marks = re.findall(r'<circle class="design" data-index="(\d+)"[^>]*data-pareto="(\d)"', dom)
assert sorted(int(i) for i, _ in marks) == valid, (marks, valid)
check = re.search(r'<p id="front-check" data-front="([^"]*)" data-agrees="(\w+)"', dom)
assert check, "the page's script did not run (no data-front on #front-check)"
js_front = sorted(int(i) for i in check.group(1).split(",") if i)
wafer_front = sorted(int(i) for i, on in marks if on == "1")
# The front of (latency, area) from sweep.json, by pairwise dominance, as a third opinion.
pts = {i + 1: (p["latency_s"], p["area_mm2"]) for i, p in enumerate(sweep["points"]) if p["valid"]}
mine = sorted(i for i, (x, y) in pts.items()
              if not any(a <= x and b <= y and (a < x or b < y) for a, b in pts.values()))
assert js_front == wafer_front == mine, (js_front, wafer_front, mine)
assert check.group(2) == "true"
assert 1 <= len(mine) < len(valid), mine
print(f"ok: chromium drew {len(marks)} designs; front {js_front} from the browser = wafer = Python")
PY
  ;;
*)
  fail "unknown mode $mode"
  ;;
esac
echo "sweep $mode: all ok"
