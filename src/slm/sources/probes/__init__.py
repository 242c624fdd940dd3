"""Synthetic probe checkers (HTTP, TCP, DNS, transactions) and the ``Probe`` metric source."""

from slm.sources.probes.runner import run_check

__all__ = ["run_check"]
