"""The operator's app: the `energy-ingest` CLI, `dev` (what `make run` runs) and provisioning.

Provisioning: migrations, Kafka topics and ACLs, database logins, tokens.
"""
