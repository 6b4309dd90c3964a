#!/usr/bin/env bash
# Train the Rasa model into var/models/bot.tar.gz (bot env). Rasa compares the fingerprint of
# config.yml, bot/domain and data/ with the existing model and skips training when nothing changed.
# Extra arguments go to `rasa train` (e.g. --force).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export RASA_TELEMETRY_ENABLED=false
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
OUT="${BOT_MODEL_DIR:-var/models}"
mkdir -p "$OUT"
# One training at a time per output folder (parallel test sessions share var/models); the second one
# waits, then finds the fingerprint unchanged and returns at once.
exec 9>"$OUT/.train.lock"
flock 9
MODEL="$OUT/bot.tar.gz"
# Cheap skip first: even with an unchanged fingerprint rasa re-packs the model from its cache (~20 s) and
# rewrites the file under a Rasa server that may be loading it. bot/*.py is loaded by reference, not trained.
if [[ -f "$MODEL" && " $* " != *" --force "* ]] \
   && [[ -z "$(find config.yml bot data -type f -not -path '*/__pycache__/*' -newer "$MODEL" -print -quit)" ]]; then
  echo "train_bot.sh: $MODEL is newer than config.yml, bot/ and data/: nothing to train"
  exit 0
fi
.venv-bot/bin/rasa train \
  --config config.yml --domain bot/domain --data data \
  --out "$OUT" --fixed-model-name bot "$@"
