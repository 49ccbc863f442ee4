# One image for the three services: gateway, consumer, analytics.
FROM python:3.11-slim
WORKDIR /app
RUN useradd --system --uid 10001 energy
COPY pyproject.toml README.md ./
COPY schemas schemas
COPY sql sql
COPY ingest_gateway ingest_gateway
COPY consumer consumer
COPY analytics_api analytics_api
COPY energy_ingest energy_ingest
COPY devstack devstack
RUN pip install --no-cache-dir .
USER energy
ENTRYPOINT ["energy-ingest"]
CMD ["--help"]
