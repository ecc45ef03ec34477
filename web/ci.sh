#!/usr/bin/env bash
# The web console's whole check, as CI runs it:
#   npm ci (from the lock file), the typed operations generated from ../schema.graphql
#   (fails when an operation does not match the schema), the type check, the Vitest
#   component tests, the production build, then the end-to-end test in Debian's
#   Chromium against `wehostvoip serve` (screenshots in web/e2e/artifacts/).
# Needs Node.js 20+, /usr/bin/chromium, and the project installed in ../.venv (./dev).
set -euo pipefail
cd "$(dirname "$0")"

[ -x ../.venv/bin/wehostvoip ] || { echo "web/ci.sh: install the project first (./dev test --co)" >&2; exit 2; }
command -v "${CHROMIUM:-/usr/bin/chromium}" >/dev/null ||
  { echo "web/ci.sh: Chromium is missing (Debian: apt-get install chromium chromium-driver)" >&2; exit 2; }

step() { printf '\n--- web: %s\n' "$*"; }
step "npm ci"
npm ci --no-audit --no-fund --loglevel=error
step "typed operations from schema.graphql"
npm run --silent codegen
step "type check"
npm run --silent typecheck
step "component tests (Vitest)"
npx vitest run
step "build"
npx vite build
step "end to end in Chromium"
node e2e/run.mjs
