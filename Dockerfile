# The WeHostVoIP control plane: one image for `serve`, `migrate`, `worker` and
# `scheduler` (see compose.yaml). Build from the repository root:
#   docker build -t wehostvoip .
# Without any setting, `docker run -p 8000:8000 wehostvoip` serves the embedded
# default (SQLite in /app/var, in-process broker) and the web console at /;
# production settings come from WEHOSTVOIP_* environment variables.

# The web console, built once here (typed operations from schema.graphql, then Vite);
# the runtime image keeps only its static files.
FROM node:20-slim AS console
WORKDIR /build/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY schema.graphql /build/schema.graphql
COPY web ./
RUN npm run build

FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    WEHOSTVOIP_LISTEN_HOST=0.0.0.0 \
    WEHOSTVOIP_LISTEN_PORT=8000 \
    WEHOSTVOIP_CONSOLE_DIR=/opt/wehostvoip/console

RUN groupadd --system --gid 10001 wehostvoip \
    && useradd --system --uid 10001 --gid wehostvoip --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin wehostvoip \
    && install --directory --owner=wehostvoip --group=wehostvoip /app

# Install the locked versions (README: Dependencies), then the package (with the
# Alembic scripts as package data) without resolving anything, and drop the sources,
# so every process imports the installed copy.
WORKDIR /src
COPY pyproject.toml README.md requirements.txt ./
COPY api ./api
COPY cli ./cli
COPY core ./core
COPY schema ./schema
COPY sync ./sync
COPY workers ./workers
COPY routing_export ./routing_export
RUN pip install --no-cache-dir --require-hashes -r requirements.txt \
    && pip install --no-cache-dir --no-deps --no-build-isolation . \
    && cd / \
    && rm -rf /src

COPY --from=console /build/web/dist /opt/wehostvoip/console

# A writable working directory for the non-root user (the embedded default
# keeps its data in ./var).
WORKDIR /app
USER wehostvoip

EXPOSE 8000

# Exec form: the command is PID 1 (or tini's child with `init: true`) and gets
# SIGTERM directly, which every command handles by stopping cleanly.
CMD ["wehostvoip", "serve"]
