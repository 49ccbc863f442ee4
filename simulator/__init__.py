"""A deterministic fleet of meters and vehicles, and a load generator that posts it."""
