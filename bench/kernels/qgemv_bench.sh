#!/usr/bin/env bash
# Builds and runs bench/kernels/qgemv_bench.cu on the device machine (nvcc, no .NET): the backend's GEMV kernel
# sources in KernelLibrary order, then the harness. Prints registers/shared memory per kernel, then the table.
#   bash bench/kernels/qgemv_bench.sh [build|run]   (default both; "build" alone can overlap other, untimed work)
set -euo pipefail
k=backends/cuda/Kernels
src=/tmp/qgemv_all.cu
if [ "${1:-}" != run ]; then
# gemv.cu uses unpack8 from attention.cu: take that one function rather than every attention kernel.
{ cat $k/common.cuh; awk '/void unpack8\(/{p=1} p{print} p&&/^}/{exit}' $k/attention.cu
  cat $k/gemv.cu $k/quant_gemv.cu $k/quant_gemv_stream.cu bench/kernels/qgemv_bench.cu; } > $src
nvcc -O3 -std=c++17 -arch=${ARCH:-sm_90a} -Xptxas -v -o /tmp/qgemv_bench $src 2> /tmp/qgemv_ptxas.txt || { cat /tmp/qgemv_ptxas.txt; exit 1; }
awk "/Compiling entry function 'qgemv_int4/{f=\$0; sub(/.*function '/,\"\",f); sub(/'.*/,\"\",f)} /Used [0-9]+ registers/&&f{print f\": \"\$0; f=\"\"}" /tmp/qgemv_ptxas.txt | sed 's/ptxas info *: //' 
fi
[ "${1:-}" = build ] || /tmp/qgemv_bench
