"""Shared plumbing of the energy ingestion engine: CLI, database set-up, tokens, logging."""
