#!/usr/bin/env bash
# The zoos the encode benchmarks read (2 cores: the network zoos in about 17 minutes, the INR zoos in about 100;
# resumable: rerun to finish an interrupted one).
# Usage: bash benchmarks/encode_zoos.sh [OUT_DIR]   (default runs/encode-zoos)
set -euo pipefail
OUT=${1:-runs/encode-zoos}
WS=${WS:-.venv/bin/weightspace}
gen() {  # name preset networks
  if [ -f "$OUT/$1/models.parquet" ]; then echo "$1: done"; return; fi
  local resume=(); [ -f "$OUT/$1/zoo.json" ] && resume=(--resume)
  "$WS" zoo generate --preset "$2" --per-task "$3" --out "$OUT/$1" "${resume[@]}"
}
gen digits-smallcnn digits-smallcnn-varied 320
gen mnist5k-smallcnn mnist5k-smallcnn-varied 320
gen mnist5k-lenet5classic mnist5k-lenet5classic-varied 64
gen mnist5k-mlp mnist5k-mlp-varied 96
gen fashion-smallcnn fashion-smallcnn-varied 48
[ -f "$OUT/sine-inr/models.parquet" ] || "$WS" zoo sine-inr --out "$OUT/sine-inr" --networks 1000
gen digits-lenet5 digits-lenet5 20
# INR classification (encode_bench.py inr-classify*): one SIREN per image, DWSNets' protocol
inr() {  # name zoo-inr-options...
  if [ -f "$OUT/$1/models.parquet" ]; then echo "$1: done"; return; fi
  local name=$1 resume=(); shift; [ -f "$OUT/$name/zoo.json" ] && resume=(--resume)
  "$WS" --threads 2 zoo inr "$@" --out "$OUT/$name" "${resume[@]}"
}
inr fashion-inrs --dataset fashion-mnist --per-class 1000   # 10,000 INRs, ~20 min
inr mnist5k-inrs --dataset mnist5k                          # 5,000, ~5 min
inr fashion-inrs-full --dataset fashion-mnist               # all 70,000, ~75 min (a GPU: --device cuda --batch 10000)
