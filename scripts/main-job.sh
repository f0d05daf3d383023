#!/usr/bin/env bash
# The README's main job: builds the runner and runs a short version of the paper's
# Table 1 (BP, PC-fw, PC-avg on Fashion-MNIST) with progress and a result table.
# The full experiment is: hybrid reproduce table1 --dataset fashion-mnist --seeds 3 --epochs 16
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
if [ ! -d /usr/share/datasets/fashion-mnist ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get install -y -qq dataset-fashion-mnist || { apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist; }
  else
    echo "Fashion-MNIST is missing: run 'sudo apt-get install -y dataset-fashion-mnist'" >&2
    exit 1
  fi
fi
dotnet build src-cs/Hybrid.Cli -c Release -nologo -v q
dotnet src-cs/Hybrid.Cli/bin/Release/net10.0/linux-x64/hybrid.dll reproduce table1 \
  --dataset fashion-mnist --fraction 0.25 --epochs 4 --seeds 2 "$@"
