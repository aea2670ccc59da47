#!/usr/bin/env bash
# Issue 16's figures in one run on the machine at hand (about 12-15 minutes on two quiet cores): the matrix-product
# ceiling, inference of the real all-MiniLM-L6-v2 against ONNX Runtime on its own ONNX file, the training step per
# BertComputeOptions (fp32, bf16 autocast, activation checkpointing) against PyTorch eager, peak memory with
# checkpointing, and the SciFact corpus encoding. Logs and JSON go to artifacts/results/speed/; docs/benchmarks.md
# ("Speed on AMD") quotes them.
#
#   tests/KnowledgeDistillation.Benchmarks/run-speed.sh
#
# Environment: KD_BENCH_THREADS (default: all cores), KD_BENCH_FULL=1 (also the fp32 corpus encoding, ~6 more minutes).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export KD_BENCH_ARTIFACTS="${KD_BENCH_ARTIFACTS:-$HERE/artifacts}"
export KD_BENCH_THREADS="${KD_BENCH_THREADS:-$(nproc)}"
OUT="$KD_BENCH_ARTIFACTS/results/speed"
mkdir -p "$OUT"
PY=/usr/bin/python3
log() { echo "[$(date -u +%H:%M:%S)] $* (1-minute load $(cut -d' ' -f1 /proc/loadavg))" | tee -a "$OUT/run.log"; }

log "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, flags: $(grep -o -w -E 'avx512f|avx512_bf16|amx_bf16' /proc/cpuinfo | sort -u | tr '\n' ' ')"
log "building"
dotnet build "$HERE/KnowledgeDistillation.Benchmarks.csproj" -c Release --nologo -v q
BENCH=(dotnet "$HERE/bin/Release/net10.0/KnowledgeDistillation.Benchmarks.dll")

# The PyTorch peer's model (random MiniLM shapes; the step's cost does not depend on the weights) and token ids.
if [ ! -f "$KD_BENCH_ARTIFACTS/inputs/manifest.json" ]; then
  log "peer model and inputs"
  $PY "$HERE/python/make_bench_models.py" "$KD_BENCH_ARTIFACTS" minilm
  KD_BENCH_SHAPES=minilm "${BENCH[@]}" prepare
fi

# The PyTorch peer's OpenBLAS kernels (openblas-kernels.sh says why).
source "$HERE/openblas-kernels.sh"

log "ceiling (libtorch matrix products)"; "${BENCH[@]}" gemm 3 linear | tee "$OUT/gemm.txt"
log "inference vs ONNX Runtime"; "${BENCH[@]}" inference 5 | tee "$OUT/inference.txt"
log "training step per configuration"; "${BENCH[@]}" train compare 2 fp32,bf16,fp32-ckpt,bf16-ckpt 32 | tee "$OUT/train.txt"
log "PyTorch eager training step"
$PY "$HERE/python/peer_torch.py" "$KD_BENCH_ARTIFACTS" --threads "$KD_BENCH_THREADS" --iterations 2 --only train-minilm-128 | tee "$OUT/torch.txt"
log "peak memory"
for c in fp32-ckpt bf16-ckpt; do "${BENCH[@]}" train peak "$c" 32 1 | tee -a "$OUT/peak.txt"; done
log "SciFact corpus encoding"
"${BENCH[@]}" corpus "$([ "${KD_BENCH_FULL:-0}" = 1 ] && echo bf16,fp32 || echo bf16)" | tee "$OUT/corpus.txt"
cp "$KD_BENCH_ARTIFACTS"/results/{inference,train-compare,train-peak-*,corpus}.json "$OUT/" 2>/dev/null || true
log "done: $OUT"
