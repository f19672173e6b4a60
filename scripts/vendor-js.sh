#!/usr/bin/env bash
# The browser-side packages vendored under templates/static/vendor, from the npm registry.
#   scripts/vendor-js.sh          # fetch and (re)write the vendored files
#   scripts/vendor-js.sh --check  # fetch and check the vendored files are the package's own
set -euo pipefail
cd "$(dirname "$0")/.."

pkg=jsqr
version=1.4.0
# The registry's integrity of jsqr-1.4.0.tgz (npm view jsqr@1.4.0 dist.integrity).
integrity='sha512-dxLob7q65Xg2DvstYkRpkYtmKm2sPJ9oFhrhmudT1dZvNFFTlroai3AWSpLey/w5vMcLBXRgOJsbXpdN9HzU/A=='
dest=templates/static/vendor/jsqr

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack -q "$pkg@$version" >/dev/null)
tgz="$work/$pkg-$version.tgz"
got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
if [ "$got" != "$integrity" ]; then
  echo "integrity mismatch for $pkg@$version: $got" >&2
  exit 1
fi
tar -xzf "$tgz" -C "$work"
if [ "${1:-}" = "--check" ]; then
  cmp "$work/package/dist/jsQR.js" "$dest/jsQR.js"
  cmp "$work/package/LICENSE" "$dest/LICENSE"
  cmp "$work/package/package.json" "$dest/package.json"
  echo "$dest is $pkg@$version, unmodified"
else
  cp "$work/package/dist/jsQR.js" "$work/package/LICENSE" "$work/package/package.json" "$dest/"
fi
