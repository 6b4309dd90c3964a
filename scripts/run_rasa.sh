#!/usr/bin/env bash
# Run the Rasa server (bot env) on 127.0.0.1 with the trained model, the REST channel and the HTTP API.
# Environment: RASA_PORT (5005), RASA_TOKEN, ACTION_SERVER_URL (base URL, default http://127.0.0.1:5055),
# ACTION_SERVER_TOKEN, RASA_MODEL (var/models/bot.tar.gz), RASA_TRACKER_DB (var/rasa/tracker.db), APP_ENV.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export RASA_TELEMETRY_ENABLED=false
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
# One TensorFlow thread per op: DIET classifies one short message at a time, too little work to split, and
# extra threads only spin on the cores Rasa shares with the service and the action server.
export TF_INTRA_OP_PARALLELISM_THREADS="${TF_INTRA_OP_PARALLELISM_THREADS:-1}"
export TF_INTER_OP_PARALLELISM_THREADS="${TF_INTER_OP_PARALLELISM_THREADS:-1}"
RASA_PORT="${RASA_PORT:-5005}"
RASA_TOKEN="${RASA_TOKEN:-change-me-rasa-token}"
RASA_MODEL="${RASA_MODEL:-var/models/bot.tar.gz}"
export ACTION_SERVER_URL="${ACTION_SERVER_URL:-http://127.0.0.1:5055}"
export ACTION_SERVER_TOKEN="${ACTION_SERVER_TOKEN:-change-me-action-server-token}"
export RASA_TRACKER_DB="${RASA_TRACKER_DB:-var/rasa/tracker.db}"
ACTION_SERVER_URL="${ACTION_SERVER_URL%/}"
ACTION_SERVER_URL="${ACTION_SERVER_URL%/webhook}"

if [[ "${APP_ENV:-development}" != "development" ]]; then
  for name in RASA_TOKEN ACTION_SERVER_TOKEN; do
    if [[ -z "${!name}" || "${!name}" == change-me* ]]; then
      echo "run_rasa.sh: $name is unset or a placeholder; set a long random secret (or APP_ENV=development)" >&2
      exit 2
    fi
  done
fi
if [[ ! -f "$RASA_MODEL" ]]; then
  echo "run_rasa.sh: no model at $RASA_MODEL; run scripts/train_bot.sh first" >&2
  exit 2
fi
mkdir -p "$(dirname "$RASA_TRACKER_DB")"

exec .venv-bot/bin/rasa run --enable-api --auth-token="$RASA_TOKEN" -i 127.0.0.1 -p "$RASA_PORT" \
  --model "$RASA_MODEL" --endpoints bot/endpoints.yml --credentials bot/credentials.yml "$@"
