"""``python -m ingest_gateway``: serve the gateway with settings from the environment."""

from ingest_gateway.main import main

main()
