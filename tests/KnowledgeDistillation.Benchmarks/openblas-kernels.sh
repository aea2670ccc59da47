# Sourced by run-speed.sh and run-comparison.sh (which define PY, HERE, KD_BENCH_ARTIFACTS and log): the PyTorch peer's
# kernels. Debian 12's OpenBLAS (0.3.21) does not recognise some newer CPUs (seen: Intel Xeon, family 6 model 207, with
# AVX-512) and falls back to its SSE3 "Prescott" kernels, which made the peer 2-8 times slower than the CPU allows. Then
# pick the kernels the CPU's flags allow, as OPENBLAS_CORETYPE does by hand; the peer's scores are still compared with
# ours, so wrong kernels would show.
if [ -z "${OPENBLAS_CORETYPE:-}" ] && [ "$($PY "$HERE/python/peer_torch.py" "$KD_BENCH_ARTIFACTS" --openblas-core)" = "Prescott" ]; then
  if grep -qw avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=SkylakeX
  elif grep -qw avx2 /proc/cpuinfo; then export OPENBLAS_CORETYPE=Haswell
  fi
  log "OpenBLAS chose Prescott kernels on this CPU; the PyTorch peer runs with OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Prescott}"
fi
