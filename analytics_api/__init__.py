"""The read-only analytics API: performance, status, mappings, fleet views and telemetry.

Build it with :func:`analytics_api.app.create_app` from an
:class:`analytics_api.settings.AnalyticsSettings`; nothing connects at import time.
"""
