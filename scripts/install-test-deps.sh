#!/usr/bin/env bash
# Installs what the test suite drives, from Debian's packages and PyPI, when it is missing:
# chromium + chromedriver (browser tests), poppler-utils, qpdf, zbar-tools (PDF and QR checks),
# openssl (key interoperability), Python's cryptography (independent vector check),
# tlog-scales (an independent tlog-tiles reader), aics-witness (an independent tlog-witness),
# oidc-provider-mock (a real OpenID Connect provider for the SSO tests),
# prometheus-client, openapi-spec-validator and schemathesis (see below), aiosmtpd (a real
# SMTP server for the reminder tests), and
# starts the local PostgreSQL cluster if it is installed but not running.
set -euo pipefail

need=()
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
command -v pdftotext >/dev/null || need+=(poppler-utils)
command -v qpdf >/dev/null || need+=(qpdf)
command -v zbarimg >/dev/null || need+=(zbar-tools)
command -v openssl >/dev/null || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing Debian packages: ${need[*]} (run: sudo apt-get install -y ${need[*]})" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
python3 -c 'import cryptography' 2>/dev/null || python3 -m pip install -q cryptography
python3 -c 'import tlog_scales' 2>/dev/null || python3 -m pip install -q 'tlog-scales==0.0.3'
# The Prometheus reference text parser (/metrics), an independent OpenAPI 3.1 validator, and
# schemathesis (API fuzzing against /api/v1/openapi.json, scripts/api-fuzz.sh).
python3 -c 'import prometheus_client' 2>/dev/null || python3 -m pip install -q 'prometheus-client==0.26.0'
python3 -c 'import openapi_spec_validator' 2>/dev/null || python3 -m pip install -q 'openapi-spec-validator==0.9.0'
python3 -m schemathesis.cli --version 2>/dev/null | grep -q 'version 4\.32\.5$' \
  || python3 -m pip install -q 'schemathesis==4.32.5'
# A real SMTP server that the reminder tests and benchmark start (tests/python/smtp_sink.py).
python3 -c 'import aiosmtpd' 2>/dev/null || python3 -m pip install -q 'aiosmtpd==1.4.6'

# aics-witness: an independent C2SP tlog-witness (PyPI), which the witnessing tests run beside
# `ikrar witness serve`. It needs Python 3.12 or newer, in its own virtual environment under
# target/test-tools (or $IKRAR_TEST_TOOLS).
tools="${IKRAR_TEST_TOOLS:-$(cd "$(dirname "$0")/.." && pwd)/target/test-tools}"
# A Python >= 3.12 for the tools' virtual environments, or exit naming what needs it.
python312() {
  for candidate in python3.13 python3.12 "$HOME"/.pyenv/versions/3.1[2-9]*/bin/python3; do
    p="$(command -v "$candidate" 2>/dev/null || true)"
    [ -z "$p" ] && [ -x "$candidate" ] && p="$candidate"
    if [ -n "$p" ] && "$p" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      echo "$p"; return 0
    fi
  done
  echo "$1 needs Python >= 3.12, and none was found" >&2
  exit 1
}
if [ ! -x "$tools/aics-witness/bin/aics-witness" ]; then
  py="$(python312 aics-witness)"
  mkdir -p "$tools"
  "$py" -m venv "$tools/aics-witness"
  "$tools/aics-witness/bin/pip" install -q 'aics-witness==0.1.0' 'aics-tlog==0.2.1'
fi

# oidc-provider-mock: a real OpenID Connect provider (authlib) that the SSO tests sign in
# at (tests/it/oidc.rs), in its own virtual environment (it needs Python 3.12 or newer).
if [ ! -x "$tools/oidc-provider-mock/bin/oidc-provider-mock" ]; then
  py="$(python312 oidc-provider-mock)"
  mkdir -p "$tools"
  "$py" -m venv "$tools/oidc-provider-mock"
  "$tools/oidc-provider-mock/bin/pip" install -q 'oidc-provider-mock==0.4.8'
fi

if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
fi
