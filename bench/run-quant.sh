#!/usr/bin/env bash
# Quantized-kernel round on one GPU (issue #8), by stages so each device call stays short:
#   conf  cuda conformance: quantized ops vs the CPU backend, quantized fixtures (GPTQ, act-order, AWQ, FP8) against
#         their Hugging Face references, and the cuda-specific tier (graph replay)
#   w1    W1 (1 x 128-token prompt, 256 new) with dummy bf16, then dummy GPTQ int4 weights, Llama-3.1-8B shape
#   w2    W2 (512 prompts x 512 tokens, 256 new, batch 256) with dummy bf16, then dummy FP8 weights
# Needs, carried: $QUANT_APP (default .gpu-quant: gpu-pack of bench/Modular.Bench plus a publish of
# tests/Modular.Conformance into its app/) and .fixtures/models with the bard-2m-* quantized fixtures.
#   bash bench/run-quant.sh conf w1     # logs and JSON under $OUT (one tarball, quant-logs.tgz, plus summary.txt)
set -uo pipefail
app=${QUANT_APP:-.gpu-quant}
out=${OUT:-/tmp/quant-out}
logs=/tmp/quant-logs
mkdir -p "$out" "$logs"
export MODULAR_CUDA_CACHE=/tmp/modular-cuda-cache MODULAR_COMMIT=${MODULAR_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
pack() { tar -czf "$out/quant-logs.tgz" -C "$logs" . ; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee -a "$logs/summary.txt"
for stage in "$@"; do
  echo "== $stage $(date -u +%H:%M:%S)" | tee -a "$logs/summary.txt"
  case $stage in
    conf)
      suites=(-class Modular.Conformance.Suites.SelectedQuantizedKernels -class Modular.Conformance.Suites.SelectedQuantizedGolden
              -class Modular.Conformance.Suites.SelectedCudaSpecific)
      MODULAR_BACKEND=cuda MODULAR_FIXTURES=$PWD/.fixtures MODULAR_CONFORMANCE_LOG=$logs/conformance-quant.tsv \
        timeout "${CONF_S:-150}" bash "$app/run" dotnet "$app/app/Modular.Conformance/Modular.Conformance.dll" "${suites[@]}" \
        > "$logs/conformance.log" 2>&1
      echo "conformance rc=$?" | tee -a "$logs/summary.txt"
      grep -E "\[FAIL\]|Total:" "$logs/conformance.log" | sed 's/\x1b\[[0-9;]*m//g' | tee -a "$logs/summary.txt"
      grep -E "QuantGolden|FAIL" "$logs/conformance-quant.tsv" | tee -a "$logs/summary.txt" ;;
    w1|w2)
      quant=$([ "$stage" = w1 ] && echo gptq || echo fp8)
      skip=$([ "$stage" = w1 ] && echo prefill,w2 || echo prefill,w1)
      for q in bf16 "$quant"; do
        args=(--skip "$skip" --out "$logs/$stage-$q" --w2-batches 256)
        [ "$q" != bf16 ] && args+=(--quantization "$q")
        timeout "${BENCH_S:-120}" bash "$app/run" dotnet "$app/app/Modular.Bench/Modular.Bench.dll" "${args[@]}" > "$logs/$stage-$q.log" 2>&1
        echo "$stage $q rc=$?" | tee -a "$logs/summary.txt"
        grep -E "loaded|copy bandwidth|linear|W1:|W2 batch|rror" "$logs/$stage-$q.log" | tee -a "$logs/summary.txt"
      done ;;
  esac
  pack
done
cp "$logs/summary.txt" "$out/summary.txt"
pack
