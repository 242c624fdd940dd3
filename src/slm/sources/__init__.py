"""Metric backend adapters implementing ``slm.services.ports.MetricSource``."""
