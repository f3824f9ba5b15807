#!/usr/bin/env bash
# The template owner's two moves, rehearsed in a scratch copy of this checkout (CI runs it):
#   1. add a tool with a new scope and a resource (a file each, an import and a line each in tools/index.ts);
#   2. remove the notes example by the README's recipe.
# After each: next build, lint, type-check, npm test, npm run inventory shows the change, and the
# local authorization server's sign-in grants the new scope. Exits non-zero at the first failure.
#
#   bash scripts/checks/rehearse-template.sh [--keep]    (--keep leaves the scratch copy for a look)
set -euo pipefail
cd "$(dirname "$0")/../.."
src=$(pwd)
keep=0
[ "${1:-}" = "--keep" ] && keep=1

scratch=$(mktemp -d "${TMPDIR:-/tmp}/rehearse-template.XXXXXX")
cleanup() {
  [ -n "${auth_pid:-}" ] && kill "$auth_pid" 2>/dev/null || true
  if [ "$keep" = 1 ]; then echo "[rehearse] scratch copy kept at $scratch"; else rm -rf "$scratch"; fi
}
trap cleanup EXIT

step() { echo; echo "[rehearse] $*"; }
elapsed() { echo "[rehearse] ... $1 took $(($(date +%s) - $2)) s"; }

step "copying the checkout (tracked and unignored files) to $scratch"
git ls-files -co --exclude-standard -z | tar --null -cf - -T - | tar -xf - -C "$scratch"
cd "$scratch"
t=$(date +%s)
npm ci --prefer-offline --no-audit --no-fund --loglevel=error >/dev/null
elapsed "npm ci" "$t"

# A free loopback port for the local authorization server (a port 0 bind, released at once).
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

checks() {
  local label=$1 expect_listed=$2 expect_absent=$3
  step "$label: next build"; t=$(date +%s); npx next build >/tmp/rehearse-build.log 2>&1 || { cat /tmp/rehearse-build.log; exit 1; }; elapsed "next build" "$t"
  step "$label: lint (npm run lint)"; npm run -s lint
  step "$label: type-check (tsc --noEmit)"; npx tsc --noEmit
  step "$label: npm test"; t=$(date +%s); MCP_TEST_SKIP_BUILD=1 npm test; elapsed "npm test" "$t"
  step "$label: npm run inventory"
  npm run -s inventory | tee /tmp/rehearse-inventory.txt
  grep -q "$expect_listed" /tmp/rehearse-inventory.txt || { echo "[rehearse] inventory does not list $expect_listed"; exit 1; }
  if [ -n "$expect_absent" ] && grep -q "$expect_absent" /tmp/rehearse-inventory.txt; then
    echo "[rehearse] inventory still lists $expect_absent"; exit 1
  fi
  step "$label: the local sign-in offers weather:read"
  local port; port=$(free_port)
  LOCAL_AUTH_PORT=$port LOCAL_AUTH_KEY_FILE=.local-auth/rehearse-keys.json npx tsx scripts/local-auth/main.ts >/tmp/rehearse-auth.log 2>&1 &
  auth_pid=$!
  for _ in $(seq 1 60); do curl -fs "http://127.0.0.1:$port/.well-known/oauth-authorization-server" >/dev/null 2>&1 && break; sleep 0.5; done
  token=$(LOCAL_AUTH_PORT=$port npm run -s token -- --user alice --scope weather:read --issuer "http://localhost:$port")
  kill "$auth_pid"; wait "$auth_pid" 2>/dev/null || true; auth_pid=
  node -e 'const c=JSON.parse(Buffer.from(process.argv[1].split(".")[1],"base64url"));if(!c.scope.split(" ").includes("weather:read")){console.error("granted:",c.scope);process.exit(1)}console.log("[rehearse] signed in as alice, granted:",c.scope)' "$token"
}

step "move 1: add a tool with a new scope (weather:read) and a resource"
cat >tools/weather_forecast.ts <<'TS'
import { z } from 'zod';
import { defineTool, jsonResult } from '@/lib/registry';

export default defineTool({
  name: 'weather_forecast',
  access: { scopes: ['weather:read'] },
  title: 'Weather forecast',
  description: 'Tomorrow in a city.',
  input: z.object({ city: z.string().min(1).max(100) }),
  annotations: { readOnlyHint: true, openWorldHint: false },
  handler: ({ city }) => jsonResult({ city, forecast: 'sunny' }),
});
TS
cat >tools/weather_station.ts <<'TS'
import { defineResource } from '@/lib/registry';

export default defineResource({
  name: 'weather_station',
  uri: 'weather://station',
  access: { scopes: ['weather:read'] },
  title: 'Weather station',
  description: 'Where the forecasts come from.',
  mimeType: 'text/plain',
  read: (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'Station 1' }] }),
});
TS
# What a person types: an import beside the others, a line in the list.
sed -i "s#^import whoami from './whoami';#&\nimport weatherForecast from './weather_forecast';\nimport weatherStation from './weather_station';#" tools/index.ts
sed -i 's#^  whoami,$#&\n  weatherForecast,\n  weatherStation,#' tools/index.ts
git diff --no-index --stat "$src/tools/index.ts" tools/index.ts || true
checks "after adding" "weather_forecast" ""

step "move 2: remove the notes example by the README's recipe"
# The README's own command, read from its bash block, so the recipe and the rehearsal cannot drift.
recipe=$(awk '/^```bash$/{inblock=1; next} /^```$/{inblock=0} inblock && /rm -rf tools\/notes/' README.md)
[ -n "$recipe" ] || { echo "[rehearse] README has no bash line removing tools/notes"; exit 1; }
echo "[rehearse] \$ $recipe"
bash -euo pipefail -c "$recipe"
[ ! -e tools/notes ] || { echo "[rehearse] the README's recipe left tools/notes"; exit 1; }
checks "after removing" "weather_station" "notes_"

step "both moves kept build, lint, type-check and tests green"
