#!/usr/bin/env bash
# The whole test suite: every test on SQLite, then the integration suite (every store,
# HTTP and CLI scenario) again on PostgreSQL, then the known-answer vectors checked by an
# independent implementation, then schemathesis against a served demo instance's
# /api/v1/openapi.json (scripts/api-fuzz.sh, about two minutes).
#
#   scripts/test.sh                       # PostgreSQL at postgres://postgres@127.0.0.1:5432/test
#   IKRAR_TEST_PG=postgres://… scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

pg="${IKRAR_TEST_PG:-postgres://postgres@127.0.0.1:5432/test}"

scripts/install-test-deps.sh

echo "== tests on SQLite"
cargo test

echo "== integration tests on PostgreSQL ($pg)"
IKRAR_TEST_DATABASE="$pg" cargo test --test it

echo "== known-answer vectors, checked independently"
python3 tests/vectors/check.py

echo "== API fuzzing against the OpenAPI description"
scripts/api-fuzz.sh
