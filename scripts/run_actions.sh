#!/usr/bin/env bash
# Run the action server (app env) on 127.0.0.1. Environment: ACTION_SERVER_PORT (5055), ACTION_SERVER_TOKEN,
# APP_ENV, KB_* (knowledge base settings, e.g. KB_INDEX_DIR). Build the index first:
#   .venv/bin/python -m knowledge_base build
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
exec .venv/bin/python -m actions --host 127.0.0.1 --port "${ACTION_SERVER_PORT:-5055}" "$@"
