"""Prometheus metrics of a consumer worker."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

BATCH_SIZE = Histogram(
    "consumer_batch_messages",
    "Messages per committed batch",
    buckets=(1, 10, 100, 500, 1000, 2000, 5000, 10000, 20000),
)
BATCH_SECONDS = Histogram(
    "consumer_batch_seconds",
    "Time to write and commit one batch",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
ROWS_STORED = Counter("consumer_rows_stored_total", "Rows inserted into history", ["table"])
DUPLICATES = Counter("consumer_duplicates_skipped_total", "Readings already stored, skipped", ["table"])
REJECTS = Counter("consumer_rejects_total", "Messages sent to ingest_rejects", ["reason"])
RETRIES = Counter("consumer_retries_total", "Batch write retries", ["cause"])
FENCED = Counter("consumer_fenced_batches_total", "Stale batches rolled back")
LAG = Gauge("consumer_lag_messages", "Messages behind the partition's end", ["topic", "partition"])
INGEST_TO_VISIBLE = Histogram(
    "consumer_ingest_to_visible_seconds",
    "From the gateway's receive time to the commit that made the reading visible",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
