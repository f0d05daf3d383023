#!/usr/bin/env bash
# End-to-end sweep checks against real storage and a real scheduler:
#   .ci/sweeps.sh sqlite    2 workers on an SQLite file, one killed with SIGKILL mid-trial
#   .ci/sweeps.sh postgres  3 workers on a PostgreSQL server started here on 127.0.0.1, one killed
#   .ci/sweeps.sh slurm     2 workers started by `sbatch --array` on a one-node Slurm cluster
#                           (munge, slurmctld and slurmd started here), trials in PostgreSQL
# Each checks in the database that every one of the 12 trials completed exactly once; sqlite and
# postgres also check that the killed trial resumed from its checkpoint at the next epoch, and that a
# sequential run of the same trials gives the same metrics (the resumed trial's included) and report.
# Exit 0: passed; 77: fashion-mnist is missing (skipped); anything else: failed.
set -uo pipefail
cd "$(dirname "$0")/.."
mode=${1:?usage: .ci/sweeps.sh sqlite|postgres|slurm}
cli=${HYBRID_CLI:-$PWD/src-cs/Hybrid.Cli/bin/Release/net10.0/linux-x64/hybrid.dll}
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || { echo "fashion-mnist is not installed"; exit 77; }

work=$(mktemp -d /tmp/hybrid-sweeps.XXXXXX)
chmod 755 "$work"
cleanups=()
cleanup() {
  for ((i = ${#cleanups[@]} - 1; i >= 0; i--)); do eval "${cleanups[i]}" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL ($mode): $*"; for f in "$work"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -n 15 "$f"; }; done; exit 1; }
hybrid() { dotnet "$cli" "$@"; }

# 12 short trials: 2 methods x 3 learning rates x 2 seeds, 4 epochs on 20% of Fashion-MNIST.
cat > "$work/spec.json" <<'EOF'
{
  "name": "ci",
  "base": { "dataset": "fashion-mnist", "fraction": 0.2, "epochs": 4, "batchSize": 100,
            "model": { "kind": "mlp", "widths": [128], "activation": "gelu", "loss": "ce" } },
  "methods": {
    "bp": { "config": { "algorithm": "bp" } },
    "spc": { "config": { "algorithm": "pc", "inference": { "steps": 3, "stepSize": 0.1 } } }
  },
  "axes": { "optimizer.lr": [0.001, 0.003, 0.01] },
  "seeds": [0, 1],
  "groups": ["fraction"]
}
EOF

# ---- storage ----
start_postgres() {
  local bin; bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$bin" ] || fail "PostgreSQL is not installed (apt-get install -y postgresql)"
  local port=$((20000 + RANDOM % 20000))
  mkdir -p "$work/pg" && chown postgres "$work/pg"
  runuser -u postgres -- "$bin/initdb" -D "$work/pg/data" -A trust -U postgres >"$work/initdb.out" 2>&1 || fail "initdb failed: $(tail -n 3 "$work/initdb.out")"
  runuser -u postgres -- "$bin/pg_ctl" -D "$work/pg/data" -o "-h 127.0.0.1 -p $port -k $work/pg" -l "$work/pg/server.out" -w start >/dev/null \
    || fail "PostgreSQL did not start: $(tail -n 5 "$work/pg/server.out")"
  cleanups+=("runuser -u postgres -- '$bin/pg_ctl' -D '$work/pg/data' -m fast -w stop")
  runuser -u postgres -- "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres hybrid || fail "createdb failed"
  url="postgres://postgres@127.0.0.1:$port/hybrid"
  q() { psql "$url" -tAq -c "$1"; }
  echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
}
use_sqlite() {
  url="$work/sweeps.db"
  q() { sqlite3 -cmd ".timeout 10000" "$url" "$1"; }
}

# ---- checks ----
# Every trial of sweep $1 completed exactly once: its status, its completion counter and the log.
check_once() {
  local s=$1 n
  n=$(q "SELECT COUNT(*) FROM trials WHERE sweep = '$s'"); [ "$n" = 12 ] || fail "sweep $s has $n trials, not 12"
  n=$(q "SELECT COUNT(*) FROM trials WHERE sweep = '$s' AND status = 'completed' AND completions = 1")
  [ "$n" = 12 ] || fail "sweep $s: $n of 12 trials completed exactly once: $(q "SELECT idx, status, completions, error FROM trials WHERE sweep = '$s'" | tr '\n' ' ')"
  n=$(q "SELECT COUNT(*) FROM events WHERE sweep = '$s' AND event = 'completed'"); [ "$n" = 12 ] || fail "sweep $s: the log holds $n completions, not 12"
  n=$(q "SELECT COUNT(DISTINCT idx) FROM events WHERE sweep = '$s' AND event = 'completed'"); [ "$n" = 12 ] || fail "sweep $s: a trial completed twice"
  echo "sweep $s: 12 of 12 trials completed exactly once"
}

# Workers on sweep "par"; the first is killed with SIGKILL once it is in the middle of a trial (an epoch
# recorded, more to run); the others finish the sweep, taking over the killed trial once its lease expires.
kill_test() {
  local workers=$1 pids=() victim trial i
  hybrid sweep create "$work/spec.json" --storage "$url" --name par || fail "sweep create failed"
  for i in $(seq 1 "$workers"); do
    # dotnet itself in the background (not a shell function), so that $! is the worker's PID.
    dotnet "$cli" --threads 1 sweep work --storage "$url" --sweep par --worker "w$i" --lease 6 --poll 1 --out "$work/runs" >"$work/w$i.log" 2>&1 &
    pids+=($!)
  done
  victim=${pids[0]}
  for i in $(seq 1 600); do
    trial=$(q "SELECT idx FROM trials WHERE sweep = 'par' AND worker = 'w1' AND status = 'running' AND epochs BETWEEN 1 AND 2")
    [ -n "$trial" ] && break
    kill -0 "$victim" 2>/dev/null || fail "worker w1 ended before it could be killed mid-trial"
    sleep 0.2
  done
  [ -n "$trial" ] || fail "worker w1 never reached the middle of a trial"
  kill -9 "$victim"
  wait "$victim" 2>/dev/null
  local before; before=$(q "SELECT epochs FROM trials WHERE sweep = 'par' AND idx = $trial")
  echo "killed worker w1 (SIGKILL) in trial $trial after $before epoch(s)"
  for p in "${pids[@]:1}"; do wait "$p" || fail "a worker failed (exit $?)"; done
  check_once par
  local after; after=$(q "SELECT status || ' by ' || worker || ', attempt ' || attempts FROM trials WHERE sweep = 'par' AND idx = $trial")
  case "$after" in "completed by w1,"*) fail "trial $trial was completed by the killed worker";; esac
  echo "trial $trial: $after"
  # The next attempt continued from the killed one's last checkpoint (saved before each epoch is
  # reported, so at least the epochs the storage saw), not from epoch 1, in the trial's one folder.
  local resumed; resumed=$(q "SELECT detail FROM events WHERE sweep = 'par' AND idx = $trial AND event = 'resumed'")
  case "$resumed" in "from epoch "*) ;; *) fail "trial $trial did not resume from a checkpoint (events: $(q "SELECT attempt || ':' || event || ':' || COALESCE(detail, '') FROM events WHERE sweep = 'par' AND idx = $trial" | tr '\n' ' '))";; esac
  local from=${resumed#from epoch }
  [ "$from" -ge "$before" ] && [ "$from" -le 4 ] || fail "trial $trial resumed $resumed, the killed worker had reported $before of 4 epochs"
  local lines; lines=$(wc -l < "$work/runs/par/$(printf 'trial-%04d' "$trial")/results.jsonl")
  [ "$lines" = 4 ] || fail "trial $trial's results.jsonl holds $lines epochs, not 4 (an epoch recorded twice or lost)"
  echo "trial $trial: the next attempt resumed $resumed, its run folder holds each of the 4 epochs once"
  ls "$work/runs/par/trial-0000"/events.out.tfevents.* >/dev/null 2>&1 || fail "no TensorBoard event file in a trial's run folder"
}

# The same trials by one worker, in order: the same metrics, and the same report.
sequential_test() {
  hybrid sweep create "$work/spec.json" --storage "$url" --name seq >/dev/null || fail "sweep create (sequential) failed"
  hybrid --threads 1 sweep work --storage "$url" --sweep seq --worker seq --out "$work/runs" >"$work/seq.log" 2>&1 || fail "the sequential worker failed"
  check_once seq
  local n
  n=$(q "SELECT COUNT(*) FROM trials a JOIN trials b ON a.idx = b.idx
         WHERE a.sweep = 'par' AND b.sweep = 'seq' AND a.key = b.key AND a.seed = b.seed AND a.method = b.method AND a.metric = b.metric")
  [ "$n" = 12 ] || fail "only $n of 12 trials have the same metric in the parallel and the sequential run"
  hybrid sweep report --storage "$url" --sweep par --out "$work/report-par" >"$work/report.log" || fail "sweep report failed"
  hybrid sweep report --storage "$url" --sweep seq --out "$work/report-seq" >/dev/null || fail "sweep report failed"
  cmp -s "$work/report-par/best.csv" "$work/report-seq/best.csv" || fail "the reports differ: $(diff "$work/report-par/best.csv" "$work/report-seq/best.csv")"
  cat "$work/report.log"
  echo "parallel and sequential runs: the same 12 metrics and the same report"
  hybrid sweep export --storage "$url" --sweep par --out "$work/export" >/dev/null || fail "sweep export failed"
  local f; f=$(ls "$work"/export/*.json | head -n 1)
  hybrid train --config "$f" --epochs 1 --fraction 0.02 --out "$work/train" >/dev/null || fail "hybrid train --config did not accept the exported $f"
  echo "exported configs train: $(ls "$work/export" | tr '\n' ' ')"
}

# ---- Slurm: a one-node cluster on this machine ----
start_slurm() {
  command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null \
    || fail "Slurm is not installed (apt-get install -y slurm-wlm munge)"
  command -v munged >/dev/null || fail "munge is not installed (apt-get install -y munge)"
  [ -f /etc/munge/munge.key ] || fail "/etc/munge/munge.key is missing (reinstall munge)"
  if ! munge -n >/dev/null 2>&1; then
    mkdir -p /run/munge && chown munge:munge /run/munge
    runuser -u munge -- /usr/sbin/munged || fail "munged did not start"
    cleanups+=("pkill -x munged")
  fi
  local s=$work/slurm host; host=$(hostname -s)
  mkdir -p "$s/state" "$s/spool"
  cat > "$s/slurm.conf" <<EOF
ClusterName=hybridci
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
StateSaveLocation=$s/state
SlurmdSpoolDir=$s/spool
SlurmctldPidFile=$s/slurmctld.pid
SlurmdPidFile=$s/slurmd.pid
SlurmctldLogFile=$s/slurmctld.log
SlurmdLogFile=$s/slurmd.log
SlurmctldPort=$((30000 + RANDOM % 10000))
SlurmdPort=$((40000 + RANDOM % 10000))
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=ci Nodes=ALL Default=YES MaxTime=60 State=UP
EOF
  export SLURM_CONF=$s/slurm.conf
  slurmctld || fail "slurmctld did not start: $(tail -n 5 "$s/slurmctld.log")"
  cleanups+=("kill \$(cat '$s/slurmctld.pid')")
  slurmd || fail "slurmd did not start: $(tail -n 5 "$s/slurmd.log")"
  cleanups+=("kill \$(cat '$s/slurmd.pid')")
  cleanups+=("scancel --user=root")
  local i
  for i in $(seq 1 60); do sinfo -h -o '%t' 2>/dev/null | grep -qx idle && break; sleep 0.5; done
  sinfo -h -o '%t' | grep -qx idle || fail "the Slurm node did not come up: $(sinfo 2>&1; tail -n 5 "$s/slurmd.log")"
  echo "Slurm $(sinfo --version | awk '{print $2}'): node $host idle"
}

slurm_test() {
  hybrid sweep create "$work/spec.json" --storage "$url" --name slurm || fail "sweep create failed"
  local job i
  job=$(HYBRID_SWEEP_STORAGE=$url HYBRID_SWEEP=slurm HYBRID_SWEEP_OUT=$work/runs HYBRID="dotnet $cli" SLURM_CPUS_PER_TASK=1 \
        sbatch --parsable --array=0-1 --cpus-per-task=1 --chdir="$work" --output="$work/slurm-%A_%a.log" scripts/slurm/sweep-workers.sbatch) \
    || fail "sbatch failed"
  echo "submitted job array $job (2 tasks)"
  for i in $(seq 1 1200); do
    [ -z "$(squeue -h -j "$job" 2>/dev/null)" ] && break
    sleep 0.5
  done
  [ -z "$(squeue -h -j "$job")" ] || fail "job array $job did not finish in 10 minutes"
  check_once slurm
  local workers; workers=$(q "SELECT COUNT(DISTINCT worker) FROM trials WHERE sweep = 'slurm' AND worker LIKE 'slurm-${job}_%'")
  [ "$workers" -ge 1 ] || fail "no trial names a worker of job $job"
  echo "sbatch --array: $workers array task(s) ran the 12 trials ($(q "SELECT worker || ':' || COUNT(*) FROM trials WHERE sweep = 'slurm' GROUP BY worker ORDER BY worker" | tr '\n' ' '))"
}

case "$mode" in
  sqlite) use_sqlite; kill_test 2; sequential_test ;;
  postgres) start_postgres; kill_test 3; sequential_test ;;
  slurm) start_postgres; start_slurm; slurm_test ;;
  *) echo "unknown mode $mode (sqlite, postgres or slurm)"; exit 2 ;;
esac
echo "PASS ($mode)"
