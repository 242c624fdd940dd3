"""The HTTP API of ``slm serve`` (FastAPI): status JSON, /metrics, push ingest, /healthz.

``slm.api.app.create_app`` builds the application; the routes are documented in
docs/api.md and the metric names in docs/metrics.md.
"""
