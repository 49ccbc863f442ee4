"""The test suite: unit tests, and integration tests against a real Kafka and PostgreSQL."""
