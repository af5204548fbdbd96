#!/usr/bin/env bash
# The scale run, for a machine with one GPU: the seed protocol (LeNet-5, Adam 1e-3, BCE, batch 128, 20 epochs x
# 60,000 Fashion-MNIST images) for 10 classes x PER_TASK one-vs-rest detectors with the --fast-gpu engine; resumable
# (rerun after any interruption), then the zoo's per-class table and the measured rate.
# Usage: bash benchmarks/scale_run_gpu.sh [PER_TASK=200] [OUT=runs/fashion-scale]
set -euo pipefail
PER_TASK=${1:-200}
OUT=${2:-runs/fashion-scale}
WS=${WS:-.venv/bin/weightspace}
resume=(); [ -f "$OUT/zoo.json" ] && resume=(--resume)
start=$(date +%s)
"$WS" zoo generate --preset fashion-lenet5 --per-task "$PER_TASK" --shard-size 500 --device cuda --fast-gpu \
  --out "$OUT" "${resume[@]}"
seconds=$(( $(date +%s) - start ))
networks=$(( PER_TASK * 10 ))
echo "{\"networks\": $networks, \"epochs\": 20, \"seconds\": $seconds, \"network_epochs_per_s\": $(( networks * 20 / (seconds > 0 ? seconds : 1) ))}" > "$OUT.timing.json"
"$WS" zoo info "$OUT"
echo "wall ${seconds} s for ${networks} networks x 20 epochs; the seed's 10,000 at this rate: $(( seconds * 10000 / networks / 60 )) min"
