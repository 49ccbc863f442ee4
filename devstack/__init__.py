"""A real local Apache Kafka broker, PostgreSQL server and Prometheus, without Docker.

Used by ``make run`` (``python -m devstack up``) and by the test suite::

    from devstack import Stack

    with Stack(tmp_path) as stack:
        stack.kafka_bootstrap  # "127.0.0.1:<port>"
        stack.database_url     # "postgresql://postgres:<pw>@127.0.0.1:<port>/energy"
"""

from devstack.errors import DevstackError, MissingToolError, ServiceStartError
from devstack.kafka import KafkaBroker
from devstack.kafka_jars import KAFKA_VERSION
from devstack.postgres import PostgresServer
from devstack.prometheus import PrometheusServer
from devstack.stack import Stack, free_port

__all__ = [
    "KAFKA_VERSION",
    "DevstackError",
    "KafkaBroker",
    "MissingToolError",
    "PostgresServer",
    "PrometheusServer",
    "ServiceStartError",
    "Stack",
    "free_port",
]
