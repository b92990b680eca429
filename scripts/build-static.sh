#!/usr/bin/env bash
# Bundles the browser's third-party JavaScript (from npm, lock file committed) into static/dist/,
# which git ignores. Nothing to bundle yet means nothing to do.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p static/dist
if [ -f package-lock.json ] && [ -s package-lock.json ] && grep -q '"dependencies"' package.json; then
  npm ci --no-audit --no-fund --loglevel=error
  npm run --silent build
fi
