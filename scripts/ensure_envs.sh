#!/usr/bin/env bash
# Create or update the two Python environments, idempotently:
#   .venv      app env (Python 3.11): knowledge_base, actions, handoff, tests  <- pyproject.toml
#   .venv-bot  Rasa env (Python 3.10): rasa 3.6 + jieba                        <- requirements-bot.txt
# Each env records a hash of its requirement file; when it is unchanged nothing is installed.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m[env]\033[0m %s\n' "$*" >&2; }

find_python() {  # $1 = version like 3.11; prints a working interpreter path or nothing
  local v="$1" cand
  for cand in "python$v" "python3"; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c "import sys; assert sys.version_info[:2] == tuple(map(int, '$v'.split('.')))" 2>/dev/null; then
      command -v "$cand"; return
    fi
  done
  if command -v pyenv >/dev/null 2>&1; then
    local prefix
    prefix="$(pyenv prefix "$v" 2>/dev/null || true)"
    if [ -n "$prefix" ] && [ -x "$prefix/bin/python" ]; then echo "$prefix/bin/python"; return; fi
    # pyenv knows a patch version like 3.10.13 even when "3.10" alone is not an alias
    local full
    full="$(pyenv versions --bare 2>/dev/null | grep -E "^$v\.[0-9]+$" | sort -V | tail -1 || true)"
    if [ -n "$full" ]; then prefix="$(pyenv prefix "$full")"; echo "$prefix/bin/python"; return; fi
  fi
}

file_hash() { sha256sum "$@" | sha256sum | cut -c1-16; }

ensure_env() {  # $1 = dir, $2 = python version, $3 = install command, $4.. = files that define it
  local dir="$1" ver="$2" install="$3"; shift 3
  local want; want="$(file_hash "$@")"
  if [ -f "$dir/.stamp" ] && [ "$(cat "$dir/.stamp")" = "$want" ] && [ -x "$dir/bin/python" ]; then
    return 0
  fi
  local py; py="$(find_python "$ver")"
  if [ -z "$py" ]; then
    say "Python $ver is required for $dir but none was found (PATH, then pyenv)."
    say "Install it, e.g. 'pyenv install $ver' or your distribution's python$ver + python$ver-venv package."
    exit 1
  fi
  if [ ! -x "$dir/bin/python" ]; then
    say "creating $dir with $py"
    "$py" -m venv "$dir"
    "$dir/bin/python" -m pip install -q --upgrade pip wheel
  fi
  say "installing into $dir (requirements changed; log: var/logs/install$dir.log)"
  mkdir -p var/logs
  if ! (eval "$install") > "var/logs/install$dir.log" 2>&1; then
    tail -n 30 "var/logs/install$dir.log" >&2
    say "installing into $dir failed; the whole log is var/logs/install$dir.log"
    exit 1
  fi
  echo "$want" > "$dir/.stamp"
}

# the app environment installs exactly the versions the images install (deploy/docker/constraints-app.txt)
ensure_env .venv 3.11 ".venv/bin/python -m pip install -q -e '.[test]' -c deploy/docker/constraints-app.txt" \
  pyproject.toml deploy/docker/constraints-app.txt
ensure_env .venv-bot 3.10 ".venv-bot/bin/python -m pip install -q -r requirements-bot.txt" requirements-bot.txt
