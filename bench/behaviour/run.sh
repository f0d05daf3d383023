#!/usr/bin/env bash
# Behaviour snapshot: runs the commands a refactor must not change (train under BP, sPC and ePC, a
# short Table 1, signal decay, the Hopfield phase transition, the HAM benchmark, a short
# reconstruction and a small sweep on SQLite) on fixed seeds, and writes their JSON outputs with the
# fields that differ between runs of the same code (times, folders, hosts) removed.
#   bench/behaviour/run.sh OUT          snapshot into OUT
#   bench/behaviour/run.sh OUT BASE     snapshot, then diff against an earlier snapshot BASE
# Exit 0: every output equal (or no BASE); 1: a difference (printed); 77: fashion-mnist missing.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:?usage: bench/behaviour/run.sh OUT [BASE]}
base=${2:-}
cli=${HYBRID_CLI:-$root/src-cs/Hybrid.Cli/bin/Release/net10.0/linux-x64/hybrid.dll}
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || { echo "fashion-mnist is not installed"; exit 77; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d /tmp/hybrid-behaviour.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
cd "$work"
hybrid() { dotnet "$cli" --threads 2 "$@"; }
norm() { python3 "$root/bench/behaviour/normalise.py" "$@"; }
snap() {
  local name=$1; shift
  echo "-- $name: hybrid $*"
  if hybrid "$@" --json > "$work/$name.raw" 2> "$work/$name.err"; then :; else
    echo "   exit $?: $(tail -n 3 "$work/$name.err")"
  fi
  norm "$work/$name.raw" > "$out/$name.json"
}

snap train-spc train --fraction 0.02 --epochs 2 --seed 1 --out runs
snap train-epc train --fraction 0.02 --epochs 2 --seed 2 --reparam epc --step-size 0.05 --out runs
snap train-bp train --fraction 0.02 --epochs 2 --seed 3 --algorithm bp --out runs
snap train-avg train --fraction 0.02 --epochs 1 --seed 4 --init avg --batching stream --out runs
snap train-resmlp train --fraction 0.02 --epochs 1 --seed 5 --model resmlp --width 64 --layers 8 --parameterisation mupc --out runs
snap table1 reproduce table1 --fraction 0.02 --epochs 1 --seeds 1 --out runs
snap decay decay --depths 5,10 --max-steps 3000 --out decay
snap hopfield-phase hopfield phase --count 3,5 --norm 1 --points 9 --starts 16 --out phase
snap ham-bench ham bench --layers '784,64,10' --epochs 1 --repeats 1 --max-iterations 50
snap reconstruction reproduce reconstruction --fraction 0.02 --epochs 1 --seeds 1 --steps 3 --inits zero,keep --out runs
cat > "$work/spec.json" <<'SPEC'
{ "name": "behaviour",
  "base": { "dataset": "fashion-mnist", "fraction": 0.02, "epochs": 2, "batchSize": 100,
            "model": { "kind": "mlp", "widths": [64], "activation": "gelu", "loss": "ce" } },
  "methods": { "bp": { "config": { "algorithm": "bp" } },
               "spc": { "config": { "algorithm": "pc", "inference": { "steps": 3, "stepSize": 0.1 } } } },
  "axes": { "optimizer.lr": [0.001, 0.01] },
  "seeds": [0],
  "groups": ["fraction"] }
SPEC
hybrid sweep create "$work/spec.json" --storage "$work/s.db" > /dev/null
hybrid sweep work --storage "$work/s.db" --out "$work/sw" > "$work/work.log" 2>&1 || echo "   sweep work failed: $(tail -n 3 "$work/work.log")"
snap sweep-report sweep report --storage "$work/s.db"

if [ -n "$base" ]; then
  status=0
  for f in "$base"/*.json; do
    n=$(basename "$f")
    if ! diff -u "$f" "$out/$n" > "$work/diff"; then echo "DIFFERENT: $n"; head -n 40 "$work/diff"; status=1; fi
  done
  [ "$status" = 0 ] && echo "every output equal to $base"
  exit "$status"
fi
