"""Where the test session's Kafka and PostgreSQL come from: devstack or testcontainers.

``TEST_BACKEND=devstack`` (local Kafka from Maven jars, PostgreSQL from the machine's
binaries) or ``TEST_BACKEND=containers`` (Docker, the images of docker-compose.yml);
unset, the machine decides (:func:`tests.backends.select.choose`). Both give the
fixtures a :class:`tests.backends.stack.ServiceStack`.
"""
