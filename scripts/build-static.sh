#!/usr/bin/env bash
# Bundles the browser's third-party JavaScript (from npm, lock file committed) into static/dist/, which git
# ignores: `npm ci` when node_modules does not match package-lock.json, then `npm run build` when a source
# is newer than the bundle. A second run with nothing changed does neither (it takes a few milliseconds).
# Nothing to bundle (no dependencies in package.json) means nothing to do.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p static/dist
if [ ! -s package-lock.json ] || ! grep -q '"dependencies"' package.json; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "build-static: npm is missing (Node 20 + npm are needed to bundle static/dist)" >&2
  exit 1
fi

# node_modules is what `npm ci` made from this exact lock file (its hash is kept next to it).
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.collab-lock-hash
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_hash" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > "$stamp"
fi

# Rebuild when the bundle is missing or older than a source (static/src, and static/js, which the bundle may
# import from), the lock file or this script; or when Swagger UI's copy is missing.
# Swagger UI (the API docs page, /api/docs) is copied as npm ships it, beside the bundle.
bundle=static/dist/editor.js
sources=(static/src static/js package.json package-lock.json "$0")
if [ ! -f "$bundle" ] || [ ! -f static/dist/swagger-ui/swagger-ui-bundle.js ] ||
  [ -n "$(find "${sources[@]}" -newer "$bundle" -print -quit 2>/dev/null)" ]; then
  npm run --silent build
fi
