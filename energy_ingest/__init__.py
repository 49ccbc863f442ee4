"""The operator's app: the `energy-ingest` CLI, `dev` (what `make run` runs), provisioning (migrations, topics, logins)."""
