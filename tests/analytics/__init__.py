"""Tests of the analytics API against a real PostgreSQL."""
