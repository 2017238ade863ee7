# opsbot: slim Python image, non-root user, config in /config, data in /data.
#   docker build -t opsbot .
#   docker run -v ./config.yaml:/config/config.yaml:ro -v opsbot-data:/data \
#     -v /var/run/docker.sock:/var/run/docker.sock --group-add $(stat -c %g /var/run/docker.sock) opsbot
# Set `data_dir: /data` in the mounted config. Prefer a socket proxy over mounting the socket.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin opsbot \
 && mkdir -p /data /config && chown opsbot:opsbot /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY commands ./commands
RUN pip install --no-cache-dir . && rm -rf /root/.cache

USER opsbot
VOLUME ["/data"]
CMD ["opsbot", "--config", "/config/config.yaml"]
