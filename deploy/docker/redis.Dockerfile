# Redis 7.0 from Debian bookworm's own packages, for deploy/compose.yaml where the registry's
# redis:7.0.*-bookworm cannot be pulled (scripts/build_images.sh deps builds it on the debootstrap base):
#   podman build --network host -f deploy/docker/redis.Dockerfile -t localhost/carloan-redis:7.0-bookworm deploy/docker
#   REDIS_IMAGE=localhost/carloan-redis:7.0-bookworm podman-compose -f deploy/compose.yaml up -d
# What compose.yaml uses of the registry image: redis-server and redis-cli on PATH, arguments given as the
# command, /data as the working directory, uid 999 (`redis`). No entry point: it starts as redis directly.
ARG BASE_IMAGE=localhost/carloan-debian:bookworm
FROM ${BASE_IMAGE}
RUN groupadd --system --gid 999 redis \
 && useradd --system --uid 999 --gid redis --home-dir /data --shell /usr/sbin/nologin redis \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/*.log \
 && install -d -o redis -g redis -m 0750 /data
WORKDIR /data
USER 999:999
EXPOSE 6379
# Without a configuration file: the compiled-in defaults (every address, port 6379), like the registry image.
CMD ["redis-server"]
