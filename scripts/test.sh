#!/usr/bin/env bash
# Builds everything and runs every test project; TRX reports land in TestResults/.
set -uo pipefail
cd "$(dirname "$0")/.."
dotnet build Modular.sln -c Debug -v q -nologo || exit 1
dotnet test --solution Modular.sln --no-build --max-parallel-test-modules 1 --report-trx --results-directory "$PWD/TestResults" "$@"
