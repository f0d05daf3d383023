#!/usr/bin/env bash
# The README's main job: builds the runner and runs a short experiment on real data.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ] && [ ! -d /usr/share/datasets/fashion-mnist ]; then
  apt-get install -y -qq dataset-fashion-mnist || { apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist; }
fi
dotnet build src-cs/Hybrid.Cli -c Release -nologo -v q
dotnet src-cs/Hybrid.Cli/bin/Release/net10.0/linux-x64/hybrid.dll info
