"""Running one check of a probe: dispatch by kind, bound by the timeout, time it.

``run_check`` never raises for a failing target (hang, reset, garbage, bad certificate):
every such case is a failed ``CheckResult`` with its reason. Only cancellation propagates.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Protocol

from slm.domain.probe import (
    CheckResult,
    DnsCheck,
    HttpCheck,
    Probe,
    TcpCheck,
    latency_reason,
    timeout_reason,
)
from slm.sources.probes.dns import check_dns
from slm.sources.probes.http import check_http, check_transaction
from slm.sources.probes.outcome import Outcome, failed
from slm.sources.probes.tcp import check_tcp


class _Clock(Protocol):
    def now(self) -> datetime: ...


class _UTC:
    def now(self) -> datetime:
        return datetime.now(UTC)


async def _dispatch(probe: Probe, now: datetime, env: Mapping[str, str]) -> Outcome:
    check, timeout = probe.check, probe.timeout
    if isinstance(check, HttpCheck):
        return await check_http(check, timeout, now, env, probe.base_dir)
    if isinstance(check, TcpCheck):
        return await check_tcp(check)
    if isinstance(check, DnsCheck):
        return await check_dns(check, timeout)
    return await check_transaction(check, timeout, now, env, probe.base_dir)


async def run_check(
    probe: Probe, clock: _Clock | None = None, env: Mapping[str, str] | None = None
) -> CheckResult:
    """Run ``probe`` once; the result is timestamped with ``clock`` (default: UTC now)."""
    started = (clock or _UTC()).now()
    t0 = time.perf_counter()
    try:
        async with asyncio.timeout(probe.timeout.total_seconds()):
            outcome = await _dispatch(probe, started, os.environ if env is None else env)
    except TimeoutError:
        outcome = failed(timeout_reason(probe.timeout))
    except Exception as e:  # a checker's own bug must not take the scheduler down
        outcome = failed(f"probe error: {type(e).__name__}: {e}")
    elapsed = time.perf_counter() - t0
    latency = outcome.latency if outcome.latency is not None else elapsed
    reason = outcome.reason
    success = outcome.success
    if success and probe.max_latency is not None:
        reason = latency_reason(latency, probe.max_latency)
        success = not reason
    return CheckResult(
        probe=probe.name,
        location=probe.location,
        started_at=started,
        latency=latency,
        success=success,
        reason=reason,
        details={"kind": probe.check.kind, **outcome.details},
    )
