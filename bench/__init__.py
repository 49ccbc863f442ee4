"""Every benchmark: `energy-ingest bench` and the component benches (`python -m bench.<name>`).

`energy-ingest bench` measures the pipeline against two yardsticks on one machine:

* *limit*: an in-process loader that stores pre-generated readings with the consumer's
  own COPY + merge transactions, with no HTTP and no Kafka: what this database can take
  on this machine.
* *naive*: the seed's design, one HTTP request and one transaction per reading.
* *pipeline*: simulator → gateway → Kafka → consumer(s) → PostgreSQL.

Then ingest-to-visible latency at fractions of the pipeline's maximum rate, and the peak
memory of every process. See ``docs/benchmarks.md``.
"""
