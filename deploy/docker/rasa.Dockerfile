# syntax=docker/dockerfile:1.7
# The Rasa server with the model trained from this repository (never a model from elsewhere: models
# trained before 3.6.21 are unsafe to load, CVE-2024-49375):
#   docker build -f deploy/docker/rasa.Dockerfile -t carloan/rasa:$(git rev-parse --short HEAD) .
# Pinned: the base image by version (add @sha256:<digest>), Rasa by requirements-bot.txt and the rest of
# its environment by deploy/docker/constraints-bot.txt (pip freeze of the tested .venv-bot).
# The debootstrap base and a wheelhouse work the same (scripts/build_images.sh):
#   --build-arg PYTHON_IMAGE=localhost/carloan-base:python3.10
#   --build-arg PIP_OPTIONS="--no-index --find-links=/wheels" -v /work/imgbuild/wheels-bot:/wheels:ro
ARG PYTHON_IMAGE=python:3.10.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 RASA_TELEMETRY_ENABLED=false
# Extra pip options, e.g. "--no-index --find-links=/wheels" to install from a wheelhouse, offline.
ARG PIP_OPTIONS=""
WORKDIR /src
COPY requirements-bot.txt deploy/docker/constraints-bot.txt ./
RUN python -m venv /opt/venv-bot \
 && /opt/venv-bot/bin/pip install $PIP_OPTIONS -c constraints-bot.txt -r requirements-bot.txt
COPY config.yml ./
COPY bot bot
COPY data data
COPY contract contract
COPY telemetry telemetry
# Train once, here: the image carries the model it was tested with (not the training cache, .rasa/).
# var/rasa exists so that run_rasa.sh needs no write to the read-only root file system.
RUN PYTHONPATH=/src /opt/venv-bot/bin/rasa train --config config.yml --domain bot/domain --data data \
      --out var/models --fixed-model-name bot \
 && rm -rf .rasa && mkdir -p var/rasa

FROM ${PYTHON_IMAGE} AS rasa
RUN groupadd --system --gid 10001 app && useradd --system --uid 10001 --gid app --home-dir /app app
COPY --from=build /opt/venv-bot /opt/venv-bot
COPY --from=build /src /app
COPY scripts/run_rasa.sh /app/scripts/run_rasa.sh
WORKDIR /app
# run_rasa.sh expects the bot environment at .venv-bot, like a checkout.
RUN ln -s /opt/venv-bot /app/.venv-bot
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 RASA_TELEMETRY_ENABLED=false APP_ENV=production \
    RASA_PORT=5005 RASA_MODEL=/app/var/models/bot.tar.gz TICKET_LOCK_LIFETIME=15 HOME=/tmp
USER 10001:10001
EXPOSE 5005
# Listens on the pod's address: only the service may reach it (the NetworkPolicy).
ENTRYPOINT ["/app/scripts/run_rasa.sh", "--endpoints", "bot/endpoints.production.yml", "-i", "0.0.0.0", \
            "--logging-config-file", "bot/logging.yml"]
