#!/usr/bin/env bash
# End-to-end sweep checks against real storage and a real scheduler:
#   .ci/sweeps.sh sqlite    2 workers on an SQLite file, one killed with SIGKILL mid-trial
#   .ci/sweeps.sh postgres  3 workers on a PostgreSQL server started here on 127.0.0.1, one killed
#   .ci/sweeps.sh slurm     2 workers started by `sbatch --array` on a one-node Slurm cluster
#                           (munge, slurmctld and slurmd started here), trials in PostgreSQL
#   .ci/sweeps.sh outage    2 workers on PostgreSQL while the server is restarted twice (once
#                           stopped for 3 s): no trial lost, none completed twice, no attempt used up
#   .ci/sweeps.sh faults    SQLite: workers whose environment fails (output not writable, dataset
#                           missing, disk full) give their trial back and exit 4; a lock held past
#                           the busy timeout is waited out; sweep retry re-queues a diverged trial
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
  pgbin=$bin pgport=$port
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

# ---- faults ----
# 6 short trials for the fault checks: 3 learning rates x 2 seeds, 4 epochs of BP on 10% of Fashion-MNIST.
small_spec() {
  cat > "$work/small.json" <<EOF
{
  "name": "small",
  "base": { "dataset": "${1:-fashion-mnist}", "fraction": 0.1, "epochs": 4, "batchSize": 100, "algorithm": "bp",
            "model": { "kind": "mlp", "widths": [64], "activation": "gelu", "loss": "ce" } },
  "axes": { "optimizer.lr": [0.001, 0.003, 0.01] },
  "seeds": [0, 1]
}
EOF
}

# Every trial of sweep $1 ($2 of them) completed exactly once, and no lease was lost.
check_clean() {
  local s=$1 want=$2 n
  n=$(q "SELECT COUNT(*) FROM trials WHERE sweep = '$s' AND status = 'completed' AND completions = 1")
  [ "$n" = "$want" ] || fail "sweep $s: $n of $want trials completed exactly once: $(q "SELECT idx, status, completions, attempts, error FROM trials WHERE sweep = '$s'" | tr '\n' ' ')"
  n=$(q "SELECT COUNT(DISTINCT idx) FROM events WHERE sweep = '$s' AND event = 'completed'"); [ "$n" = "$want" ] || fail "sweep $s: the log holds $n completed trials, not $want"
  n=$(q "SELECT COUNT(*) FROM events WHERE sweep = '$s' AND event = 'completed'"); [ "$n" = "$want" ] || fail "sweep $s: a trial completed twice"
  n=$(q "SELECT COALESCE(SUM(losses), 0) FROM trials WHERE sweep = '$s'"); [ "$n" = 0 ] || fail "sweep $s: $n lease(s) lost"
  n=$(q "SELECT COUNT(*) FROM trials WHERE sweep = '$s' AND status = 'failed'"); [ "$n" = 0 ] || fail "sweep $s: $n trial(s) failed"
}

outage_test() {
  small_spec
  hybrid sweep create "$work/small.json" --storage "$url" --name outage >/dev/null || fail "sweep create failed"
  local pids=() i
  for i in 1 2; do
    dotnet "$cli" --threads 1 sweep work --storage "$url" --sweep outage --worker "o$i" --lease 30 --poll 1 --out "$work/runs" >"$work/o$i.log" 2>&1 &
    pids+=($!)
  done
  for i in $(seq 1 600); do [ "$(q "SELECT COUNT(*) FROM epochs WHERE sweep = 'outage'")" -ge 1 ] && break; sleep 0.2; done
  runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg/data" -m fast -w restart -o "-h 127.0.0.1 -p $pgport -k $work/pg" >/dev/null || fail "the restart failed"
  echo "PostgreSQL restarted (fast) while the workers ran"
  for i in $(seq 1 600); do [ "$(q "SELECT COUNT(*) FROM trials WHERE sweep = 'outage' AND status = 'completed'")" -ge 2 ] && break; sleep 0.2; done
  runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg/data" -m fast -w stop >/dev/null || fail "the stop failed"
  sleep 3
  runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg/data" -o "-h 127.0.0.1 -p $pgport -k $work/pg" -l "$work/pg/server.out" -w start >/dev/null || fail "the server did not start again"
  echo "PostgreSQL stopped for 3 s and started again"
  for p in "${pids[@]}"; do wait "$p" || fail "a worker failed across the outage (exit $?)"; done
  check_clean outage 6
  local attempts outages
  attempts=$(q "SELECT MAX(attempts) FROM trials WHERE sweep = 'outage'"); [ "$attempts" = 1 ] || fail "an outage used up an attempt (max attempts $attempts)"
  outages=$(q "SELECT COUNT(*) FROM events WHERE sweep = 'outage' AND event = 'outage'"); [ "$outages" -ge 1 ] || fail "no outage was logged"
  hybrid sweep status --storage "$url" --sweep outage --json | grep -q '"event": "outage"' || fail "sweep status does not show the outage"
  echo "outage: 6 of 6 trials completed exactly once, 1 attempt each, no lease lost; $outages outage(s) ridden out and shown by sweep status"
}

faults_test() {
  small_spec folder:data/fashion-mnist
  hybrid sweep create "$work/small.json" --storage "$url" --name faults >/dev/null || fail "sweep create failed"
  local rc n i
  # A worker whose output folder cannot be made (a file is in the way): it claims nothing.
  touch "$work/afile"
  (cd "$work" && dotnet "$cli" sweep work --storage "$url" --sweep faults --out "$work/afile/runs" >"$work/f1.log" 2>&1); rc=$?
  [ "$rc" = 4 ] || fail "a worker with an unwritable output exited $rc, not 4"
  grep -q "cannot be written" "$work/f1.log" || fail "the unwritable output is not named: $(tail -n 2 "$work/f1.log")"
  n=$(q "SELECT COUNT(*) FROM trials WHERE sweep = 'faults' AND attempts > 0"); [ "$n" = 0 ] || fail "the worker with an unwritable output claimed $n trial(s)"
  echo "unwritable output: exit 4, nothing claimed"
  # A node without the dataset (the spec reads it from data/ under the worker's folder): the trial is given back.
  mkdir -p "$work/nodata" "$work/node"
  ln -s /usr/share/datasets "$work/node/data"
  (cd "$work/nodata" && dotnet "$cli" sweep work --storage "$url" --sweep faults --out "$work/runs" >"$work/f2.log" 2>&1); rc=$?
  [ "$rc" = 4 ] || fail "a worker without the dataset exited $rc, not 4"
  grep -q "pending again" "$work/f2.log" || fail "the worker without the dataset does not say the trial is pending again: $(tail -n 2 "$work/f2.log")"
  n=$(q "SELECT COUNT(*) FROM trials WHERE sweep = 'faults' AND status = 'pending'"); [ "$n" = 6 ] || fail "after the worker without the dataset, $n of 6 trials are pending"
  echo "dataset missing: exit 4, the trial pending again"
  # A full disk under the output (a 1 MiB tmpfs; root only).
  if [ "$(id -u)" = 0 ] && mkdir -p "$work/full" && mount -t tmpfs -o size=1m tmpfs "$work/full" 2>/dev/null; then
    cleanups+=("umount '$work/full'")
    (cd "$work/node" && dotnet "$cli" sweep work --storage "$url" --sweep faults --out "$work/full" >"$work/f3.log" 2>&1); rc=$?
    [ "$rc" = 4 ] || fail "a worker on a full disk exited $rc, not 4: $(tail -n 3 "$work/f3.log")"
    grep -q "No space left" "$work/f3.log" || fail "the full disk is not named: $(tail -n 2 "$work/f3.log")"
    n=$(q "SELECT COUNT(*) FROM trials WHERE sweep = 'faults' AND status = 'failed'"); [ "$n" = 0 ] || fail "the full disk failed $n trial(s)"
    echo "full disk: exit 4, the trial pending again"
  else
    echo "full disk: skipped (needs root to mount a tmpfs)"
  fi
  # A lock held past the busy timeout (1 s here) while a worker runs: waited out, nothing failed.
  (cd "$work/node" && HYBRID_SQLITE_BUSY_SECONDS=1 dotnet "$cli" --threads 1 sweep work --storage "$url" --sweep faults --out "$work/runs" >"$work/f4.log" 2>&1) &
  local worker=$!
  for i in $(seq 1 600); do [ "$(q "SELECT COUNT(*) FROM epochs WHERE sweep = 'faults'")" -ge 1 ] && break; sleep 0.2; done
  printf 'BEGIN EXCLUSIVE;\n.shell sleep 4\nCOMMIT;\n' | sqlite3 "$url" || fail "could not hold the lock"
  echo "held an exclusive lock on the database for 4 s"
  wait "$worker" || fail "the worker failed while the database was locked (exit $?): $(tail -n 3 "$work/f4.log")"
  check_clean faults 6
  n=$(q "SELECT COUNT(*) FROM events WHERE sweep = 'faults' AND event = 'outage'"); [ "$n" -ge 1 ] || fail "the lock was not logged as an outage"
  n=$(q "SELECT COUNT(*) FROM events WHERE sweep = 'faults' AND event = 'environment'"); [ "$n" -ge 1 ] || fail "no environment failure was logged"
  echo "lock: waited out; 6 of 6 trials completed exactly once, no lease lost, none failed"
  # sweep retry: a diverged trial (inference step size 1e4) re-queued and run again.
  cat > "$work/div.json" <<'EOF'
{ "name": "div", "base": { "dataset": "fashion-mnist", "fraction": 0.02, "epochs": 1, "algorithm": "pc", "inference": { "stepSize": 1e4 },
  "model": { "kind": "mlp", "widths": [16], "activation": "gelu", "loss": "ce" } } }
EOF
  hybrid sweep create "$work/div.json" --storage "$url" >/dev/null || fail "sweep create (div) failed"
  hybrid sweep work --storage "$url" --sweep div --out "$work/runs" >/dev/null 2>&1 || fail "the div worker failed"
  [ "$(q "SELECT status FROM trials WHERE sweep = 'div'")" = diverged ] || fail "the div trial did not diverge: $(q "SELECT status, error FROM trials WHERE sweep = 'div'")"
  hybrid sweep retry --storage "$url" --sweep div | grep -q "no trial to retry" || fail "sweep retry re-queued a diverged trial without --diverged"
  hybrid sweep retry --storage "$url" --sweep div --diverged | grep -q "1 trial(s) pending again" || fail "sweep retry --diverged did not re-queue the trial"
  [ "$(q "SELECT status FROM trials WHERE sweep = 'div'")" = pending ] || fail "the retried trial is not pending"
  hybrid sweep work --storage "$url" --sweep div --out "$work/runs" >/dev/null 2>&1 || fail "the div worker failed (second time)"
  [ "$(q "SELECT status || ' ' || attempts FROM trials WHERE sweep = 'div'")" = "diverged 2" ] || fail "the retried trial did not run again"
  echo "sweep retry: the diverged trial was re-queued and ran a second attempt"
}

case "$mode" in
  sqlite) use_sqlite; kill_test 2; sequential_test ;;
  postgres) start_postgres; kill_test 3; sequential_test ;;
  slurm) start_postgres; start_slurm; slurm_test ;;
  outage) start_postgres; outage_test ;;
  faults) use_sqlite; faults_test ;;
  *) echo "unknown mode $mode (sqlite, postgres or slurm)"; exit 2 ;;
esac
echo "PASS ($mode)"
