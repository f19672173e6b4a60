#!/usr/bin/env bash
# Fuzzes the JSON API against its own description: starts `ikrar serve --demo` on a fresh
# temporary directory and a free 127.0.0.1 port, runs schemathesis against
# /api/v1/openapi.json (public routes, and the HR routes with the demo admin's token) for a
# bounded time, and fails on any 5xx or any answer that does not conform to the description
# (status code, content type, body schema). Stops the server whatever happens.
#
#   scripts/api-fuzz.sh                         # 100 s budget, fixed seed
#   IKRAR_FUZZ_SECONDS=60 IKRAR_FUZZ_SEED=7 scripts/api-fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${IKRAR_FUZZ_SECONDS:-100}"
seed="${IKRAR_FUZZ_SEED:-20261201}"

# Through the interpreter, not a console script: a pyenv shim for it may not exist yet.
python3 -c 'import schemathesis' 2>/dev/null || {
  echo "schemathesis is missing: run scripts/install-test-deps.sh" >&2
  exit 1
}
cargo build --quiet --bin ikrar
bin="$PWD/target/debug/ikrar"

dir="$(mktemp -d)"
server=""
cleanup() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
base="http://127.0.0.1:$port"
export DATABASE_URL="sqlite://$dir/demo.db"

# Lookups are rate-limited per address (SPEC 6); the fuzzer is one address.
(cd "$dir" && exec "$bin" serve --demo --bind "127.0.0.1:$port" --lookup-limit 1000000) \
  >"$dir/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 120); do
  curl -fsS -o /dev/null "$base/healthz" 2>/dev/null && break
  kill -0 "$server" 2>/dev/null || { cat "$dir/serve.log" >&2; exit 1; }
  sleep 0.5
done
curl -fsS -o /dev/null "$base/readyz"

token="$("$bin" token create --username admin-demo | tail -n 1)"

echo "== schemathesis against $base/api/v1/openapi.json (${seconds}s, seed $seed)"
status=0
# From the temporary directory: schemathesis keeps its cache in the working directory.
(cd "$dir" && python3 -m schemathesis.cli run "$base/api/v1/openapi.json" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
  --header "Authorization: Bearer $token" \
  --max-time "$seconds" \
  --max-examples 40 \
  --seed "$seed" \
  --request-timeout 10 \
  --workers 2 \
  --warnings off \
  --no-color) || status=$?

if grep -q '"internal error"\|internal error' "$dir/serve.log"; then
  echo "the server logged internal errors:" >&2
  grep 'internal error' "$dir/serve.log" | head -n 20 >&2
  status=1
fi
exit "$status"
