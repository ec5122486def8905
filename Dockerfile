# syntax=docker/dockerfile:1
# The Roost operator image: `docker build -t roost:0.1.0 .` at the repo top.
# Referenced by charts/roost (image.repository, image.tag = appVersion).

# --- build: a virtualenv with Roost and its dependencies --------------------------
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/roost
WORKDIR /src
# Only what the package build reads (see .dockerignore).
COPY pyproject.toml README.md ./
COPY operator ./operator
RUN /opt/roost/bin/pip install . \
 && /opt/roost/bin/roost --version

# --- runtime: the virtualenv on a slim Python, as a non-root user -----------------
FROM python:3.11-slim-bookworm
LABEL org.opencontainers.image.title="roost" \
      org.opencontainers.image.description="SLO-gated canary rollouts of ML model servers" \
      org.opencontainers.image.licenses="Apache-2.0"
# A fixed numeric uid/gid, so Kubernetes' runAsNonRoot can verify it (the chart sets 10001).
RUN groupadd --system --gid 10001 roost \
 && useradd --system --uid 10001 --gid 10001 --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin roost
COPY --from=build /opt/roost /opt/roost
ENV PATH=/opt/roost/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 10001:10001
# 8080: kopf's liveness endpoint (--liveness); 8081: the operator's /metrics (--metrics-port).
EXPOSE 8080 8081
ENTRYPOINT ["roost", "run"]
