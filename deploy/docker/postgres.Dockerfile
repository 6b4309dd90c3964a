# PostgreSQL 15 from Debian bookworm's own packages, for deploy/compose.yaml where the registry's
# postgres:15.*-bookworm cannot be pulled (scripts/build_images.sh deps builds it on the debootstrap base):
#   podman build --network host -f deploy/docker/postgres.Dockerfile -t localhost/carloan-postgres:15-bookworm deploy/docker
#   POSTGRES_IMAGE=localhost/carloan-postgres:15-bookworm podman-compose -f deploy/compose.yaml up -d
# The same contract as the registry image, as far as compose.yaml uses it: POSTGRES_USER, POSTGRES_PASSWORD,
# POSTGRES_DB, the data in /var/lib/postgresql/data (PGDATA), *.sql and *.sh in /docker-entrypoint-initdb.d
# run once on an empty data directory, password (scram-sha-256) for every TCP connection, pg_isready on
# PATH, the server process as uid 999 (`postgres`), so a volume moves between the two images.
# One difference: the first-start server runs the init scripts on a private socket, so pg_isready (the
# health check) says "ready" only once the real server listens, with the init SQL done.
ARG BASE_IMAGE=localhost/carloan-debian:bookworm
FROM ${BASE_IMAGE}
ARG PG_MAJOR=15
# The uid and gid of the registry image; before the package, which would pick a free system uid.
RUN groupadd --system --gid 999 postgres \
 && useradd --system --uid 999 --gid postgres --home-dir /var/lib/postgresql --shell /bin/bash postgres \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql-common \
 && sed -ri 's/^#?\s*create_main_cluster\b.*$/create_main_cluster = false/' /etc/postgresql-common/createcluster.conf \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y "postgresql-$PG_MAJOR" \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/*.log \
 && install -d -o postgres -g postgres -m 2775 /var/run/postgresql \
 && install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/data \
 && install -d /docker-entrypoint-initdb.d
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENV PATH=/usr/lib/postgresql/$PG_MAJOR/bin:$PATH PGDATA=/var/lib/postgresql/data PG_MAJOR=$PG_MAJOR
VOLUME /var/lib/postgresql/data
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
STOPSIGNAL SIGINT
EXPOSE 5432
CMD ["postgres"]
