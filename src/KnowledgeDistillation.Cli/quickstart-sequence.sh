#!/bin/bash
# The kd command sequence of docs/cli.md ("The QuickStart as kd commands"), timed per command.
set -euo pipefail
cd /tmp/kdfull/kd
KDDLL=/work/wt/cli/src/KnowledgeDistillation.Cli/bin/Release/net10.0/kd.dll
kd() { /usr/bin/time -f "TIME %e s wall, %U s user, %S s sys: kd $*" nice -n 15 dotnet $KDDLL "$@"; }
D=/work/wt/cli/samples/data/scifact; S=42
echo "START $(date -u +%H:%M:%S) $(uptime)"
kd mine --data $D --dev-queries 60 --pseudo-queries 0   --seed $S --output teacher-train.jsonl
kd mine --data $D --dev-queries 60 --pseudo-queries all --seed $S --output train.jsonl
kd train-teacher --train teacher-train.jsonl --output teacher --seed $S
echo "AFTER-TEACHER $(date -u +%H:%M:%S) $(uptime)"
SCORE="kd score --teacher teacher --input train.jsonl --cache scores.kdscores --max-negatives 4 --batch-size 64 --max-length 128"
$SCORE --output scored.jsonl
$SCORE --output fused.jsonl --corpus $D --fuse-bm25 tune --dev-queries 60 --depth 50 --json | tee tune.json
W=$(python3 -c "import json;print(repr(json.load(open('tune.json'))['fusionWeight']))")
kd distill --train fused.jsonl --output student-distilled --data $D --dev-queries 60 --seed $S
kd distill --train scored.jsonl --hard-labels --output student-hard --data $D --dev-queries 60 --seed $S
echo "AFTER-STUDENTS $(date -u +%H:%M:%S) $(uptime)"
kd evaluate --data $D --split test --model bm25 --json | tee eval-bm25.json
kd evaluate --data $D --split test --model teacher --depth 50 --max-length 128 --cache scores.kdscores --fuse-bm25 $W --json | tee eval-teacher.json
kd evaluate --data $D --split test --model student-distilled --json | tee eval-distilled.json
kd evaluate --data $D --split test --model student-hard --json | tee eval-hard.json
echo "END $(date -u +%H:%M:%S) $(uptime)"
