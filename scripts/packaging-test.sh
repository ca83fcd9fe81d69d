#!/usr/bin/env bash
# Build what the packaging test packs, then run that test alone (CI runs it inside `pnpm test`, after turbo's build).
#   scripts/packaging-test.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
command -v socat >/dev/null || { echo "[tunnelmux] the packaging test drives socat: apt-get install socat" >&2; exit 1; }
export PATH="$root/.tools/node_modules/.bin:$PATH"
pnpm turbo run build --filter=@tunnelmux/e2e...
cd packages/e2e
exec pnpm exec vitest run src/packaging
