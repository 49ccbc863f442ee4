# Two images, both installed with plain pip from the lock (requirements/*.txt: exact versions,
# every file checked by its sha256). `docker compose build` builds both.
#   service (the default, last stage): the three services and the ground they stand on, nothing
#     else; run one with `python -m ingest_gateway`, `python -m consumer` or `python -m analytics_api`.
#   tools: the operator's `energy-ingest` CLI with the app extra, for one-shot set-up jobs
#     (migrate, create-login, topics, token).

FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONPATH=/app
WORKDIR /app
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin energy

FROM base AS tools
COPY requirements/tools.txt /tmp/requirements.txt
RUN pip install --no-cache-dir --require-hashes -r /tmp/requirements.txt && rm /tmp/requirements.txt
COPY common common
COPY schemas schemas
COPY sql sql
COPY ingest_gateway ingest_gateway
COPY consumer consumer
COPY analytics_api analytics_api
COPY energy_ingest energy_ingest
COPY simulator simulator
COPY bench bench
RUN printf '#!/bin/sh\nexec python -m energy_ingest.cli "$@"\n' > /usr/local/bin/energy-ingest \
    && chmod 755 /usr/local/bin/energy-ingest \
    && python -m compileall -q /app
USER energy
ENTRYPOINT ["energy-ingest"]
CMD ["--help"]

FROM base AS service
COPY requirements/service.txt /tmp/requirements.txt
RUN pip install --no-cache-dir --require-hashes -r /tmp/requirements.txt && rm /tmp/requirements.txt
COPY common common
COPY schemas schemas
COPY sql sql
COPY ingest_gateway ingest_gateway
COPY consumer consumer
COPY analytics_api analytics_api
RUN python -m compileall -q /app
USER energy
CMD ["python", "-m", "ingest_gateway"]
