"""Service plumbing shared by the services: tokens, JSON logs, serving, error bodies. Imports no service."""
