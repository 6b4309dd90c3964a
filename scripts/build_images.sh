#!/usr/bin/env bash
# Build the three images (carloan/service, carloan/actions, carloan/rasa) with podman on a machine that
# cannot pull base images: a Debian base made with debootstrap, CPython on top, every Python package from a
# wheelhouse built here from the index pip already uses, then the repository's own Dockerfiles with
# --build-arg PYTHON_IMAGE=<that base> and the image builds run without any network.
#   scripts/build_images.sh [base|wheels|images|deps|all]      (default: all; run it as root)
# deps: PostgreSQL and Redis for deploy/compose.yaml from Debian's packages on the same base
# (localhost/carloan-postgres:15-bookworm, localhost/carloan-redis:7.0-bookworm; POSTGRES_IMAGE / REDIS_IMAGE).
# Where a registry is reachable, skip all of this: `docker build -f deploy/docker/app.Dockerfile ...` with
# the pinned python:*-slim-bookworm defaults (BASE=registry here does the same with podman).
# Environment: IMGBUILD (work directory, outside the repository: rootfs, wheelhouses, logs; /work/imgbuild),
# DEBIAN_MIRROR (the mirror apt uses), PY311 / PY310 (host interpreters that build the wheelhouses),
# PY311 / PY310 are also the installations copied into the bases; TAG (git short hash).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${IMGBUILD:-/work/imgbuild}"
MIRROR="${DEBIAN_MIRROR:-$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null \
  || true)}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
SECURITY_MIRROR="${DEBIAN_SECURITY_MIRROR:-${MIRROR%/debian}/debian-security}"
PY311="${PY311:-$(pyenv prefix 3.11.7 2>/dev/null || true)/bin/python}"
PY310="${PY310:-$(pyenv prefix 3.10.13 2>/dev/null || true)/bin/python}"
TAG="${TAG:-$(git -C "$ROOT" rev-parse --short HEAD)}"
BASE="${BASE:-debootstrap}"
# Runtime libraries of CPython's extension modules (ssl, sqlite3, ctypes, lzma, bz2, readline, curses, nis).
DEB_PACKAGES=ca-certificates,tzdata,netbase,libssl3,libsqlite3-0,libffi8,libbz2-1.0,liblzma5,libreadline8,libncursesw6,libnsl2,libtirpc3,libexpat1
mkdir -p "$OUT"
TIMES="$OUT/build-times.txt"

timed() {  # timed NAME COMMAND...: run, log to $OUT/NAME.log, append the wall time to $TIMES
  local name="$1" start=$SECONDS
  shift
  echo "== $name: $*" >&2
  "$@" >"$OUT/$name.log" 2>&1 || { echo "$name failed; see $OUT/$name.log" >&2; tail -20 "$OUT/$name.log" >&2; exit 1; }
  echo "$name $((SECONDS - start)) s" | tee -a "$TIMES" >&2
}

rootfs() {
  local fs="$OUT/rootfs"
  [[ -f "$fs/etc/debian_version" ]] || debootstrap --variant=minbase --include="$DEB_PACKAGES" bookworm "$fs" "$MIRROR"
  cat >"$fs/etc/apt/sources.list" <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb $SECURITY_MIRROR bookworm-security main
EOF
  # Like the slim images: no documentation but the copyright files, no package caches.
  cat >"$fs/etc/dpkg/dpkg.cfg.d/01-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
EOF
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$fs/etc/apt/apt.conf.d/01-slim"
  find "$fs/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
  rm -rf "$fs"/usr/share/{man,info,locale}/* "$fs"/var/cache/apt/*.bin "$fs"/var/cache/apt/archives/*.deb \
    "$fs"/var/lib/apt/lists/* "$fs"/var/log/*.log "$fs"/tmp/*
  tar -C "$fs" --numeric-owner -c . | podman import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' --change 'CMD ["/bin/bash"]' - localhost/carloan-debian:bookworm-debootstrap
  # debootstrap installs bookworm as released: bookworm-updates and -security once, for both bases.
  mkdir -p "$OUT/debian"
  cat >"$OUT/debian/Containerfile" <<'EOF'
FROM localhost/carloan-debian:bookworm-debootstrap
RUN apt-get update && apt-get -y upgrade && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt \
 && dpkg-query -W > /usr/share/doc/packages.txt
EOF
  podman build --squash-all --network host -t localhost/carloan-debian:bookworm "$OUT/debian"
}

# Both bases carry the host's CPython builds (pyenv), relocated to /usr/local: the interpreters the
# environments were tested with and the registry images pin (3.11.7; 3.10.13). Not Debian's python3.11:
# that is 3.11.2, where redis pulls in async-timeout (python_full_version < "3.11.3") and the image would
# no longer match deploy/docker/constraints-app.txt. Bookworm has no 3.10 at all.
base_python() {  # base_python X.Y PREFIX: localhost/carloan-base:pythonX.Y
  local version="$1" prefix="$2" stage="$OUT/base$1/python"
  rm -rf "$stage" && mkdir -p "$stage/bin" "$stage/lib"
  cp -a "$prefix/include" "$stage/"
  cp -a "$prefix/bin/python$version" "$stage/bin/" && ln -s "python$version" "$stage/bin/python3" \
    && ln -s "python$version" "$stage/bin/python"
  cp -a "$prefix"/lib/libpython* "$prefix/lib/python$version" "$stage/lib/"
  # Nothing of the host's site-packages (pip, tools, .pth files): venv brings its own pip (ensurepip).
  rm -rf "$stage/lib/python$version"/{test,idlelib,tkinter,turtledemo} "$stage/lib/python$version"/lib-dynload/_tkinter* \
    "$stage/lib/python$version"/config-"$version"-*/*.a
  find "$stage/lib/python$version/site-packages" -mindepth 1 -maxdepth 1 ! -name README.txt -exec rm -rf {} +
  cat >"$OUT/base$version/Containerfile" <<'EOF'
FROM localhost/carloan-debian:bookworm
COPY python/ /usr/local/
RUN ldconfig \
 && python -c "import ssl, sqlite3, ctypes, lzma, bz2, ensurepip, venv, sys; print(sys.version, ssl.OPENSSL_VERSION)"
EOF
  podman build --network none -t "localhost/carloan-base:python$version" "$OUT/base$version"
}

wheels() {  # every package of both images as wheels, from the index and find-links of the host's pip
  "$PY311" -c 'import tomllib; print("\n".join(tomllib.load(open("'"$ROOT"'/pyproject.toml", "rb"))["project"]["dependencies"]))' \
    >"$OUT/requirements-app.txt"
  "$PY311" -m pip wheel -w "$OUT/wheels-app" -c "$ROOT/deploy/docker/constraints-app.txt" -r "$OUT/requirements-app.txt"
  "$PY310" -m pip wheel -w "$OUT/wheels-bot" -c "$ROOT/deploy/docker/constraints-bot.txt" -r "$ROOT/requirements-bot.txt"
}

image() {  # image DOCKERFILE TARGET NAME WHEELHOUSE BASE_IMAGE
  local args=(-f "$ROOT/deploy/docker/$1" --target "$2" -t "carloan/$3:$TAG" -t "carloan/$3:local")
  if [[ "$BASE" == debootstrap ]]; then
    args+=(--network none --build-arg "PYTHON_IMAGE=$5" -v "$OUT/$4:/wheels:ro"
           --build-arg "PIP_OPTIONS=--no-index --find-links=/wheels")
  fi
  podman build "${args[@]}" "$ROOT"
}

images() {
  timed image-service image app.Dockerfile service service wheels-app localhost/carloan-base:python3.11
  timed image-actions image app.Dockerfile actions actions wheels-app localhost/carloan-base:python3.11
  timed image-rasa image rasa.Dockerfile rasa rasa wheels-bot localhost/carloan-base:python3.10
  podman image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E 'carloan' | tee "$OUT/image-sizes.txt"
}

deps() {  # the registry's postgres and redis images cannot be pulled here: the same from Debian's packages
  timed image-postgres podman build --network host -f "$ROOT/deploy/docker/postgres.Dockerfile" \
    -t localhost/carloan-postgres:15-bookworm "$ROOT/deploy/docker"
  timed image-redis podman build --network host -f "$ROOT/deploy/docker/redis.Dockerfile" \
    -t localhost/carloan-redis:7.0-bookworm "$ROOT/deploy/docker"
  podman image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E 'carloan-(postgres|redis)' \
    | tee -a "$OUT/image-sizes.txt"
}

bases() {
  timed rootfs rootfs
  timed base311 base_python 3.11 "${PY311%/bin/python}"
  timed base310 base_python 3.10 "${PY310%/bin/python}"
}

case "${1:-all}" in
  base) bases ;;
  wheels) timed wheels wheels ;;
  images) images ;;
  deps) deps ;;
  all)
    if [[ "$BASE" == debootstrap ]]; then
      bases; timed wheels wheels
    fi
    images
    [[ "$BASE" != debootstrap ]] || deps ;;
  *) echo "usage: $0 [base|wheels|images|deps|all]" >&2; exit 2 ;;
esac
