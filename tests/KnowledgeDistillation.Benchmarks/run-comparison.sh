#!/usr/bin/env bash
# The whole performance comparison, in one run: our library against PyTorch eager and ONNX Runtime on the same model,
# weights, token ids and thread count, plus the matrix-product ceiling; writes the result tables into
# docs/benchmarks.md (between the results markers). See docs/benchmarks.md.
#
#   tests/KnowledgeDistillation.Benchmarks/run-comparison.sh
#
# Environment: KD_BENCH_THREADS (default: all cores), KD_BENCH_ITERATIONS (default 5), KD_BENCH_SHAPES
# (default minilm,base), KD_BENCH_FULL=1 (BERT-base at batch 64 too), KD_BENCH_MAX_LOAD (default 1.5) and
# KD_BENCH_WAIT_SECONDS (default 600): how long to wait for the 1-minute load to drop below it before measuring anyway
# (the load is recorded next to the figures either way), KD_BENCH_ARTIFACTS (default: artifacts/ beside this script,
# git-ignored; models and inputs are reused when present).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
export KD_BENCH_ARTIFACTS="${KD_BENCH_ARTIFACTS:-$HERE/artifacts}"
export KD_BENCH_THREADS="${KD_BENCH_THREADS:-$(nproc)}"
export KD_BENCH_ITERATIONS="${KD_BENCH_ITERATIONS:-5}"
export KD_BENCH_SHAPES="${KD_BENCH_SHAPES:-minilm,base}"
MAX_LOAD="${KD_BENCH_MAX_LOAD:-1.5}"
WAIT_SECONDS="${KD_BENCH_WAIT_SECONDS:-600}"
PY=/usr/bin/python3
RESULTS="$KD_BENCH_ARTIFACTS/results"
LOADS="$RESULTS/load.txt"

log() { echo "[$(date +%H:%M:%S)] $*"; }
load1() { cut -d' ' -f1 /proc/loadavg; }
record_load() { echo "$1 $(load1)" >> "$LOADS"; }

# 1. System packages: Debian's PyTorch (the eager peer, which also exports the ONNX model) and a threaded OpenBLAS.
missing=()
for pkg in python3-torch libopenblas0-pthread; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update
  $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi

# 2. Build (Release: BenchmarkDotNet refuses Debug builds).
log "building"
dotnet build "$HERE/KnowledgeDistillation.Benchmarks.csproj" -c Release --nologo -v q
BENCH=(dotnet "$HERE/bin/Release/net10.0/KnowledgeDistillation.Benchmarks.dll")

# 3. Weights (random, Hugging Face initialisation) and the ONNX export of the cross-encoders; 4. the peers' inputs.
log "models"
IFS=',' read -r -a shapes <<< "$KD_BENCH_SHAPES"
$PY "$HERE/python/make_bench_models.py" "$KD_BENCH_ARTIFACTS" "${shapes[@]}"
rm -rf "$RESULTS"; mkdir -p "$RESULTS"
log "prepare"
"${BENCH[@]}" prepare

# 5. Wait for a quiet machine.
waited=0
while awk -v l="$(load1)" -v m="$MAX_LOAD" 'BEGIN { exit !(l >= m) }' && ((waited < WAIT_SECONDS)); do
  log "1-minute load $(load1) >= $MAX_LOAD; waiting ($waited/$WAIT_SECONDS s)"
  sleep 30; waited=$((waited + 30))
done
record_load start

# The PyTorch peer's OpenBLAS kernels (openblas-kernels.sh says why).
source "$HERE/openblas-kernels.sh"

# 6. Checks (drift, tokenizer agreement), the PyTorch peer, our benchmarks, peaks, soak.
log "drift"; "${BENCH[@]}" drift; record_load drift
log "PyTorch eager peer"
$PY "$HERE/python/peer_torch.py" "$KD_BENCH_ARTIFACTS" --threads "$KD_BENCH_THREADS" --iterations "$KD_BENCH_ITERATIONS"
record_load torch
log "BenchmarkDotNet"
(cd "$HERE" && "${BENCH[@]}" --filter '*' --join)
record_load bdn
log "peak working sets"
for what in teacher-fp32 teacher-bf16 onnxruntime encode train; do "${BENCH[@]}" peak "$what" minilm 128; done
for w in teacher-minilm-128-b32 encode-minilm-128 train-minilm-128; do
  $PY "$HERE/python/peer_torch.py" "$KD_BENCH_ARTIFACTS" --threads "$KD_BENCH_THREADS" --peak "$w"
done
log "soak"; "${BENCH[@]}" soak; record_load end

# 7. The tables.
$PY "$HERE/python/make_table.py" "$KD_BENCH_ARTIFACTS" "$REPO/docs/benchmarks.md"
log "done: docs/benchmarks.md"
