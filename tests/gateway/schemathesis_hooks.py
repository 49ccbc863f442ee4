"""Schemathesis hooks for the gateway run (loaded through SCHEMATHESIS_HOOKS).

NDJSON bodies are documented as a string (one reading per line): send them as they are.
"""

import schemathesis

schemathesis.serializer.alias("application/x-ndjson", "text/plain")
