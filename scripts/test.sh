#!/usr/bin/env bash
# Builds everything and runs every test project; TRX reports land in TestResults/.
set -uo pipefail
cd "$(dirname "$0")/.."
results="$PWD/TestResults"
dotnet build Modular.sln -c Debug -v q -nologo || exit 1
status=0
# Every test project (the conformance suite among them runs against the cpu backend here).
dotnet test --solution Modular.sln --no-build --max-parallel-test-modules 1 --report-trx --results-directory "$results" "$@" || status=1
# The conformance suite's required tier again, for the rocm backend (ILGPU on OpenCL: pocl on a CI machine).
# Without an OpenCL runtime it would fall back to ILGPU's CPU accelerator, far too slow for the suite: say so, skip.
if ls /etc/OpenCL/vendors/*.icd >/dev/null 2>&1; then
  MODULAR_BACKEND=rocm dotnet test --project tests/Modular.Conformance --no-build --filter-trait "tier=required" \
    --report-trx --report-trx-filename conformance-rocm.trx --results-directory "$results" || status=1
else
  echo "[test] no OpenCL runtime (/etc/OpenCL/vendors/*.icd): rocm conformance skipped; install pocl-opencl-icd" >&2
fi
exit $status
