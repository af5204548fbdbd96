#!/usr/bin/env bash
# The zoos the encode benchmarks read (2 cores: the network zoos in about 17 minutes, the INR zoos in about 100;
# resumable: rerun to finish an interrupted one).
# Usage: bash benchmarks/encode_zoos.sh [OUT_DIR]   (default runs/encode-zoos)
set -euo pipefail
OUT=${1:-runs/encode-zoos}
WS=${WS:-.venv/bin/weightspace}
build() {  # name weightspace-arguments... (--out, and --resume for a zoo already started, are added)
  local name=$1; shift
  if [ -f "$OUT/$name/models.parquet" ]; then echo "$name: done"; return; fi
  local resume=(); [ -f "$OUT/$name/zoo.json" ] && resume=(--resume)
  "$WS" "$@" --out "$OUT/$name" "${resume[@]}"
}
build digits-smallcnn zoo generate --preset digits-smallcnn-varied --per-task 320
build mnist5k-smallcnn zoo generate --preset mnist5k-smallcnn-varied --per-task 320
build mnist5k-lenet5classic zoo generate --preset mnist5k-lenet5classic-varied --per-task 64
build mnist5k-mlp zoo generate --preset mnist5k-mlp-varied --per-task 96
build fashion-smallcnn zoo generate --preset fashion-smallcnn-varied --per-task 48
[ -f "$OUT/sine-inr/models.parquet" ] || "$WS" zoo sine-inr --out "$OUT/sine-inr" --networks 1000
build digits-lenet5 zoo generate --preset digits-lenet5 --per-task 20
# wild populations (encode_bench.py wild, transfer): 1,200 drawn CNNs in ~25 min on 2 workers; two graph zoos
build digits-wild zoo generate --preset digits-wild --workers 2
build digits-resnet zoo generate --preset digits-resnet
build digits-vit zoo generate --preset digits-vit
# INR classification (encode_bench.py inr-classify*): one SIREN per image, DWSNets' protocol
build fashion-inrs --threads 2 zoo inr --dataset fashion-mnist --per-class 1000   # 10,000 INRs, ~20 min
build mnist5k-inrs --threads 2 zoo inr --dataset mnist5k                          # 5,000, ~5 min
build fashion-inrs-full --threads 2 zoo inr --dataset fashion-mnist   # all 70,000, ~75 min (a GPU: --device cuda --batch 10000)
