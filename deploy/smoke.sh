#!/usr/bin/env bash
# Start the three images (scripts/build_images.sh) on the host network against this machine's PostgreSQL
# and Redis, as in production (APP_ENV=production, read-only root file systems, uid 10001), and check them:
# the migration, the service's /healthz and /livez, the action server's /health, Rasa's /version, and one
# borrower turn per language through the borrower API that must come back as a cited FAQ answer.
# Prints each container's user and resident memory. Removes its containers and databases at the end
# (KEEP=1 keeps them). Needs podman, curl, python3, createdb/dropdb; run it as root.
# Environment: TAG (image tag, local), PGHOST/PGPORT/PGUSER (127.0.0.1:5432, postgres; trust auth),
# REDIS_HOST/REDIS_PORT (127.0.0.1:6379), SMOKE_REDIS_DB (14: one of its own), ports SERVICE_PORT (18000),
# METRICS_PORT (19100), ACTIONS_PORT (15055), RASA_PORT (15005), IMGBUILD (logs; /work/imgbuild).
set -euo pipefail
TAG="${TAG:-local}"
OUT="${IMGBUILD:-/work/imgbuild}"
PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
REDIS_HOST="${REDIS_HOST:-127.0.0.1}" REDIS_PORT="${REDIS_PORT:-6379}" REDIS_DB="${SMOKE_REDIS_DB:-14}"
SERVICE_PORT="${SERVICE_PORT:-18000}" METRICS_PORT="${METRICS_PORT:-19100}"
ACTIONS_PORT="${ACTIONS_PORT:-15055}" RASA_PORT="${RASA_PORT:-15005}"
RUN="smoke$$"
DB="imgtest_$RUN"
ENV_FILE="$(mktemp)"
mkdir -p "$OUT"
secret() { head -c 32 /dev/urandom | base64 | tr -d '/+=\n'; }

cleanup() {
  for name in service actions rasa; do
    podman logs "$RUN-$name" >"$OUT/smoke-$name.log" 2>&1 || true
    [[ "${KEEP:-0}" == 1 ]] || podman rm -f "$RUN-$name" >/dev/null 2>&1 || true
  done
  if [[ "${KEEP:-0}" != 1 ]]; then
    dropdb -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" --if-exists "$DB" || true
    dropdb -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" --if-exists "${DB}_rasa" || true
  fi
  rm -f "$ENV_FILE"
}
trap cleanup EXIT

createdb -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" "$DB"
createdb -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" "${DB}_rasa"
# The secrets, in one file for the three (each process reads only the settings it has; nothing secret
# appears on a command line).
cat >"$ENV_FILE" <<EOF
APP_ENV=production
LOG_FORMAT=json
SECRET_KEY=$(secret)
RASA_TOKEN=$(secret)
ACTION_SERVER_TOKEN=$(secret)
INTERNAL_API_TOKEN=$(secret)
EOF

start() {  # start NAME IMAGE [podman run options and arguments...]
  local name="$1" image="$2"
  shift 2
  podman run -d --name "$RUN-$name" --network host --read-only --tmpfs /tmp --env-file "$ENV_FILE" "$@" >/dev/null
  echo "started $name ($image)"
}

wait_for() {  # wait_for URL SECONDS: until it answers 200
  local deadline=$((SECONDS + $2))
  until curl -fs -o /dev/null "$1"; do
    ((SECONDS < deadline)) || { echo "FAIL: $1 did not answer 200 within $2 s" >&2; return 1; }
    sleep 2
  done
}

DATABASE_URL="postgresql+psycopg://$PGUSER@$PGHOST:$PGPORT/$DB"
service_env=(-e "DATABASE_URL=$DATABASE_URL" -e "REDIS_URL=redis://$REDIS_HOST:$REDIS_PORT/$REDIS_DB"
  -e HOST=127.0.0.1 -e "PORT=$SERVICE_PORT" -e METRICS_HOST=127.0.0.1 -e "METRICS_PORT=$METRICS_PORT"
  -e "RASA_URL=http://127.0.0.1:$RASA_PORT" -e "ACTION_SERVER_URL=http://127.0.0.1:$ACTIONS_PORT"
  -e MIGRATE_ON_START=false -e RASA_TIMEOUT_S=8)

start=$SECONDS
podman run --rm --network host --read-only --tmpfs /tmp --env-file "$ENV_FILE" "${service_env[@]}" \
  "carloan/service:$TAG" python -m handoff migrate >"$OUT/smoke-migrate.log" 2>&1 \
  || { tail -5 "$OUT/smoke-migrate.log" >&2; exit 1; }
echo "migration: $(tail -1 "$OUT/smoke-migrate.log") ($((SECONDS - start)) s)"

start actions "carloan/actions:$TAG" -e ACTION_SERVER_HOST=127.0.0.1 -e "ACTION_SERVER_PORT=$ACTIONS_PORT" \
  -e "SERVICE_URL=http://127.0.0.1:$SERVICE_PORT" "carloan/actions:$TAG"
# Rasa's image listens on 0.0.0.0 (the pod's address); on the host network, loopback (later options win).
start rasa "carloan/rasa:$TAG" -e "RASA_PORT=$RASA_PORT" -e "ACTION_SERVER_URL=http://127.0.0.1:$ACTIONS_PORT" \
  -e "RASA_TRACKER_DB_HOST=$PGHOST" -e "RASA_TRACKER_DB_PORT=$PGPORT" -e "RASA_TRACKER_DB_NAME=${DB}_rasa" \
  -e "RASA_TRACKER_DB_USER=$PGUSER" -e RASA_TRACKER_DB_PASSWORD=unused-with-trust-auth \
  -e "RASA_LOCK_REDIS_HOST=$REDIS_HOST" -e "RASA_LOCK_REDIS_PORT=$REDIS_PORT" \
  -e "RASA_LOCK_REDIS_DB=$((REDIS_DB - 1))" -e RASA_LOCK_REDIS_PASSWORD= \
  "carloan/rasa:$TAG" -i 127.0.0.1
start service "carloan/service:$TAG" "${service_env[@]}" "carloan/service:$TAG"

start=$SECONDS
wait_for "http://127.0.0.1:$SERVICE_PORT/livez" 120
echo "service /livez: $(curl -fsS "http://127.0.0.1:$SERVICE_PORT/livez") ($((SECONDS - start)) s)"
wait_for "http://127.0.0.1:$ACTIONS_PORT/health" 300
echo "actions /health: $(curl -fsS "http://127.0.0.1:$ACTIONS_PORT/health") ($((SECONDS - start)) s)"
rasa_token="$(sed -n 's/^RASA_TOKEN=//p' "$ENV_FILE")"
wait_for "http://127.0.0.1:$RASA_PORT/status?token=$rasa_token" 300
echo "rasa /version: $(curl -fsS "http://127.0.0.1:$RASA_PORT/version") ($((SECONDS - start)) s)"
wait_for "http://127.0.0.1:$SERVICE_PORT/healthz" 60
echo "service /healthz: $(curl -fsS "http://127.0.0.1:$SERVICE_PORT/healthz")"
curl -fsS "http://127.0.0.1:$SERVICE_PORT/healthz" | python3 -c 'import json, sys; s = json.load(sys.stdin)["status"]
sys.exit(0 if s == "ok" else f"FAIL: /healthz status {s}, not ok")'

turn() {  # turn LANG TEXT FAQ_ID: a new conversation, one message, the reply must cite FAQ_ID
  local started created id token reply
  started=$(date +%s%N)
  created=$(curl -fsS -X POST "http://127.0.0.1:$SERVICE_PORT/api/conversations" \
    -H 'content-type: application/json' -d "{\"lang\": \"$1\", \"channel\": \"web\"}")
  id=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])' <<<"$created")
  token=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])' <<<"$created")
  reply=$(curl -fsS -X POST "http://127.0.0.1:$SERVICE_PORT/api/conversations/$id/messages" \
    -H 'content-type: application/json' -H "authorization: Bearer $token" \
    -d "{\"text\": \"$2\", \"client_message_id\": \"smoke-$1-1\"}")
  FAQ_ID="$3" MS=$(( ($(date +%s%N) - started) / 1000000 )) python3 -c '
import json, os, sys
messages = json.load(sys.stdin)["messages"]
bot = [m for m in messages if m["sender"] == "bot"]
cited = [((m.get("payload") or {}).get("custom") or {}).get("faq_id") for m in bot]
text = " ".join(m["text"] for m in bot if m["text"])[:100].replace("\n", " ")
ms, faq_id = os.environ["MS"], os.environ["FAQ_ID"]
print(f"borrower turn {sys.argv[1]} ({ms} ms): cited {cited}: {text}")
sys.exit(0 if faq_id in cited else f"FAIL: {faq_id} not cited")' "$1" <<<"$reply"
}
turn en "How do I get a payoff quote?" payoff-quote
turn zh "如何查询提前结清金额？" payoff-quote-zh

echo "container user, resident memory (VmRSS of the container's main process):"
for name in service actions rasa; do
  pid=$(podman inspect -f '{{.State.Pid}}' "$RUN-$name")
  uid=$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")
  rss=$(awk '/^VmRSS:/ {printf "%.0f MB", $2 / 1024}' "/proc/$pid/status")
  echo "  $name: uid $uid ($(podman exec "$RUN-$name" id -un 2>/dev/null || echo "?")), $rss, $(tr '\0' ' ' <"/proc/$pid/cmdline" | cut -c1-60)"
  [[ "$uid" != 0 ]] || { echo "FAIL: $name runs as root" >&2; exit 1; }
done
echo "smoke: all checks passed"
