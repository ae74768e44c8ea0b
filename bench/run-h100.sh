#!/usr/bin/env bash
# One device call of the benchmark round (see bench/README.md). Usage on the GPU machine, from the repo root,
# with .gpu (gpu-pack of tests/Modular.Conformance and bench/Modular.Bench), .fixtures, bench/peers and
# artifacts/plugins/rocm carried:
#   bash bench/run-h100.sh quick   # cuda conformance + cuda benchmarks
#   bash bench/run-h100.sh final   # as full without the cuda conformance run (made in the call before)
#   bash bench/run-h100.sh full    # + both peers in the same call + the rocm backend on ILGPU's CUDA accelerator
# Everything lands in $OUT/logs (tarred to $OUT/logs.tgz); a summary is printed last.
set -u
mode=${1:-quick}
out=${OUT:-/tmp/out}; logs=$out/logs; mkdir -p "$logs"
export MODULAR_COMMIT=${MODULAR_COMMIT:-$(cat bench/COMMIT 2>/dev/null || echo unknown)}
export PYTHONUNBUFFERED=1 MODULAR_CUDA_CACHE=/tmp/modular-cuda
run() { local name=$1 limit=$2; shift 2; local t0=$SECONDS
  timeout "$limit" "$@" > "$logs/$name.log" 2>&1; local rc=$?
  echo "== $name: rc $rc, $((SECONDS - t0)) s"; }
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem,power.limit --format=csv > "$logs/nvidia-smi.csv" 2>&1
cat "$logs/nvidia-smi.csv"
conf=.gpu/app/Modular.Conformance/Modular.Conformance.dll
bench=.gpu/app/Modular.Bench/Modular.Bench.dll
if [ "$mode" != final ]; then
  MODULAR_BACKEND=cuda MODULAR_FIXTURES=$PWD/.fixtures MODULAR_CONFORMANCE_LOG=$logs/conformance-cuda.tsv \
    run conformance-cuda 240 bash .gpu/run dotnet $conf
  grep -E "Total|failed|passed" "$logs/conformance-cuda.log" | tail -3
fi
run bench-cuda 300 bash .gpu/run dotnet $bench --backend cuda --out "$logs" --w2-batches "${W2_BATCHES:-256,512}"
grep -E "W1|W2|prefill 8x|copy band|failed|Exception" "$logs/bench-cuda.log" | tail -12
if [ "$mode" != quick ]; then
  OUT="$logs" W2_BATCHES=256 run peer-fast 240 python3 bench/peers/peer_fast.py
  tail -4 "$logs/peer-fast.log"
  OUT="$logs" run peer-hf 110 python3 bench/peers/peer_hf.py
  tail -4 "$logs/peer-hf.log"
  MODULAR_BACKEND=rocm MODULAR_PLUGINS=$PWD/bench/plugins.rocm.json MODULAR_BACKEND_SETTINGS="accelerator=cuda" MODULAR_FIXTURES=$PWD/.fixtures \
    MODULAR_CONFORMANCE_LOG=$logs/conformance-rocm.tsv run conformance-rocm 50 bash .gpu/run dotnet $conf
  grep -E "Total|failed|passed" "$logs/conformance-rocm.log" | tail -3
  run bench-rocm 80 bash .gpu/run dotnet $bench --backend rocm --setting accelerator=cuda --out "$logs" --skip prefill --w2-batches 256 --w2-prompts 256
  grep -E "W1|W2|failed|Exception" "$logs/bench-rocm.log" | tail -6
fi
tar -czf "$out/logs.tgz" -C "$out" logs
