#!/usr/bin/env bash
# Sharded teacher scoring throughput on this machine: the same examples scored by 1, 2 and 4 `kd score` processes in
# parallel (each a shard, threads per process = cores / processes, at least 1), then merged; prints pairs per second of
# wall time for each, and the merge time. Usage (from the repository root, after a Release build of the tool):
#   tests/KnowledgeDistillation.Benchmarks/run-sharding.sh <teacher folder> <examples.jsonl> [max negatives] [work dir]
set -euo pipefail
teacher="$1"; examples="$2"; maxneg="${3:-3}"; work="${4:-$(mktemp -d)}"
kd=(dotnet "$(dirname "$0")/../../src/KnowledgeDistillation.Cli/bin/Release/net10.0/kd.dll")
cores=$(nproc)
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $cores cores, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| processes | threads each | pairs | wall s | pairs/s | per-process pairs/s | load after |"
echo "|---:|---:|---:|---:|---:|---|---|"
for n in 1 2 4; do
  threads=$(( cores / n )); [ "$threads" -lt 1 ] && threads=1
  dir="$work/p$n"; rm -rf "$dir"; mkdir -p "$dir"
  start=$(date +%s.%N)
  for ((i = 0; i < n; i++)); do
    "${kd[@]}" score --teacher "$teacher" --input "$examples" --cache "$dir/scores.kdscores" --shard "$i/$n" \
      --max-negatives "$maxneg" --threads "$threads" --json > "$dir/shard-$i.json" 2> "$dir/shard-$i.log" &
  done
  wait
  end=$(date +%s.%N)
  pairs=$(cat "$dir"/shard-*.json | sed -n 's/.*"scored":\([0-9]*\).*/\1/p' | paste -sd+ | bc)
  each=$(cat "$dir"/shard-*.json | sed -n 's/.*"pairsPerSecond":\([0-9.]*\).*/\1/p' | xargs printf '%.1f ' )
  wall=$(echo "$end - $start" | bc)
  echo "| $n | $threads | $pairs | $(printf '%.1f' "$wall") | $(echo "scale=1; $pairs / $wall" | bc) | $each| $(cut -d' ' -f1 /proc/loadavg) |"
done
start=$(date +%s.%N)
"${kd[@]}" merge-scores "$work"/p4/scores.shard-*-of-4.kdscores --output "$work/merged.kdscores" --json
echo "merge of the 4 shards: $(echo "$(date +%s.%N) - $start" | bc) s"
