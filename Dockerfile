# opsbot: non-root, read-only root filesystem friendly (writes only to /data).
#
#   docker build -t opsbot .                                  # on the official slim Python image
#   docker build --build-arg BASE_IMAGE=my/debian-python ... # any Debian-like image with python3+venv
#   docker build --build-arg WHEELS=build/wheels ...          # offline: wheels built beforehand with
#                                                             #   pip wheel -w build/wheels '.[e2e]'
# Run it as deploy/compose.yaml does: config mounted read-only at /config, data volume at /data,
# Docker reached through a socket proxy. The HEALTHCHECK asks the bot's own /healthz (connected
# to both Matrix and Docker); OPSBOT_HTTP_LISTEN below turns that listener on.
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS build
ARG WHEELS=
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY . /src
RUN python3 -m venv /opt/opsbot \
 && if [ -n "$WHEELS" ]; then \
      /opt/opsbot/bin/pip install --no-index --find-links "/src/$WHEELS" "opsbot[e2e]"; \
    else \
      /opt/opsbot/bin/pip install "/src[e2e]"; \
    fi

FROM ${BASE_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PATH=/opt/opsbot/bin:$PATH \
    OPSBOT_HTTP_LISTEN=127.0.0.1:9464
RUN useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin opsbot \
 && mkdir -p /data /config && chown opsbot:opsbot /data
COPY --from=build /opt/opsbot /opt/opsbot
USER opsbot
WORKDIR /data
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["opsbot", "healthcheck"]
CMD ["opsbot", "--config", "/config/config.yaml"]
