#!/usr/bin/env bash
# Everything a short GPU lease measures, in one call, the scale results first, each stage time-boxed under one
# deadline so a slow stage cannot eat the others; results are packed into $OUT/results.tar.gz after every stage.
#   1. the zoo engine, every mode (kernel variants, order groups) vs a plain per-network loop (zoo_engine_gpu.py)
#   2. a Fashion-MNIST one-vs-rest zoo, as many networks as the engine's best rate fits in 3 minutes under the
#      seed's full protocol (20 epochs x 60,000 images), and its per-class table
#   3. all 70,000 Fashion-MNIST INRs (`zoo inr --device cuda`), timed
#   4. the graph metanetwork at ScaleGMN-B's budget on the dense path (3 seeds), then other encoders
#   5. the GPU tests (tests/gpu: engine == CPU loop, shared order, --fast-gpu, SIREN fitter, other device paths)
# Usage (device machine, repo root; Fashion-MNIST IDX files in $WEIGHTSPACE_FASHION_MNIST, wheels in .whl):
#   OUT=/some/dir SECONDS_BUDGET=520 bash benchmarks/gpu_session.sh
# QUICK=1 runs a few-second version of every stage on the CPU (the rehearsal before a lease).
set -u
OUT=${OUT:-/tmp/gpu-session-out}
BUDGET=${SECONDS_BUDGET:-520}
QUICK=${QUICK:-0}
PY=${PY:-python3}
WORK=/tmp/gpu-session           # small results: packed into $OUT
ZOOS=/tmp/gpu-session-zoos      # the INR zoo (330 MB): stays on the machine
rm -rf "$WORK" "$ZOOS"; mkdir -p "$WORK" "$ZOOS" "$OUT"
deadline=$(( $(date +%s) + BUDGET ))
if [ "$QUICK" = 1 ]; then DEV=cpu; else DEV=cuda; fi

pack() { tar -C "$WORK" -czf "$OUT/results.tar.gz.part" . && mv "$OUT/results.tar.gz.part" "$OUT/results.tar.gz"; }
stage() {  # stage NAME MAX_SECONDS COMMAND...: runs under min(MAX, time to the deadline)
  local name=$1 limit=$2; shift 2
  local left=$(( deadline - $(date +%s) ))
  [ "$left" -lt "$limit" ] && limit=$left
  if [ "$limit" -le 5 ]; then echo "== $name: skipped (deadline)"; return; fi
  echo "== $name (up to ${limit} s) $(date +%T)"
  local start; start=$(date +%s)
  timeout "$limit" "$@" > "$WORK/$name.log" 2>&1
  local rc=$?
  echo "   rc $rc after $(( $(date +%s) - start )) s"
  tail -n 30 "$WORK/$name.log"
  pack
}

HELP="$PY benchmarks/lease_helpers.py"
if [ "$QUICK" = 1 ]; then
  stage engine 120 $PY benchmarks/zoo_engine_gpu.py --device cpu --quick --modes 0,8,6,7,1,4,5,9,2,3 --out "$WORK/zoo_engine_gpu.json"
  read -r per_task kernels < <($HELP zoo-size "$WORK/zoo_engine_gpu.json" 20 1797 2)
  stage fashion_zoo 60 $PY -m weightspace zoo generate --preset digits-lenet5 --per-task "$per_task" --epochs 2 --out "$ZOOS/fashion-zoo" ${kernels:+--kernels $kernels}
  $HELP per-class "$ZOOS/fashion-zoo" > "$WORK/fashion_zoo_per_class.json"
  stage inr_fit 120 $PY -m weightspace zoo inr --dataset digits --per-class 3 --steps 20 --batch 30 --out "$ZOOS/fashion-inrs-full"
  stage encoder-graph-b 200 $PY benchmarks/encode_bench.py inr-classify-full --zoos "$ZOOS" --seeds 0 --encoders graph-b --epochs-scale 0.01 --no-pixels --out "$WORK/encode"
  stage encoders 200 $PY benchmarks/encode_bench.py inr-classify-full --zoos "$ZOOS" --seeds 0 --encoders statnn,graph --epochs-scale 0.05 --out "$WORK/encode"
  stage tests 120 $PY -m pytest -q -p no:cacheprovider tests/train/test_batched.py tests/train/test_triton_conv.py
else
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm --format=csv | tee "$WORK/gpu.txt"
  # the shipped fast mode, the kernel variants, then order groups; the box may cut the deterministic ones
  # (each mode is kept as it ends)
  stage engine 200 $PY benchmarks/zoo_engine_gpu.py --m 512 --modes 0,8,6,7,1,4,5,9,2,3 --out "$WORK/zoo_engine_gpu.json"
  read -r per_task kernels < <($HELP zoo-size "$WORK/zoo_engine_gpu.json" 170 60000 20)
  stage fashion_zoo 180 $PY -m weightspace zoo generate --config configs/zoo-fashion-lenet5-200.yaml --per-task "$per_task" --shard-size $(( per_task * 10 )) --device cuda --fast-gpu --out "$ZOOS/fashion-zoo" ${kernels:+--kernels $kernels}
  $HELP per-class "$ZOOS/fashion-zoo" > "$WORK/fashion_zoo_per_class.json"
  stage inr_fit 130 $PY -m weightspace zoo inr --dataset fashion-mnist --device cuda --batch 10000 --shard-size 10000 --out "$ZOOS/fashion-inrs-full"
  stage encoder-graph-b 300 $PY benchmarks/encode_bench.py inr-classify-full --zoos "$ZOOS" --device cuda --seeds 0,1,2 --encoders graph-b --no-pixels --out "$WORK/encode"
  for encoder in nfn-hnp statnn; do  # the deadline may cut these
    stage "encoder-$encoder" 200 $PY benchmarks/encode_bench.py inr-classify-full --zoos "$ZOOS" --device cuda --seeds 0 --encoders $encoder --epochs-scale 0.25 --no-pixels --out "$WORK/encode"
  done
  # compile-heavy: 100 s ran only 5 of 10 on an H200, the engine's first
  stage tests 180 $PY -m pytest -q -p no:cacheprovider -m gpu tests/gpu/test_cuda.py tests/gpu/test_devices.py
fi
[ -f "$ZOOS/fashion-inrs-full/zoo.json" ] && $HELP inr-summary "$ZOOS/fashion-inrs-full" > "$WORK/inr_zoo_summary.json"
pack
echo "done $(date +%T); $(( deadline - $(date +%s) )) s before the deadline"
