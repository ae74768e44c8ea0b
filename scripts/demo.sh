#!/usr/bin/env bash
# The main job on a fresh machine: build, serve the bundled bard-2m on the CPU backend, answer one chat request.
set -euo pipefail
cd "$(dirname "$0")/.."
port="${PORT:-8000}"
dotnet build core/Modular.Cli -c Release -v q -nologo
dotnet core/Modular.Cli/bin/Release/net10.0/modular.dll serve --backend cpu --port "$port" >/tmp/modular-demo.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  kill -0 $server 2>/dev/null || { cat /tmp/modular-demo.log; exit 1; }
  sleep 0.5
done
curl -sS "http://127.0.0.1:$port/v1/chat/completions" -H 'Content-Type: application/json' -d '{
  "model": "bard-2m",
  "messages": [{"role": "user", "content": "Speak, speak."}],
  "max_tokens": 64, "temperature": 0.8, "seed": 1
}'
echo
