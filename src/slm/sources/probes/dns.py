"""DNS checks: a name resolves, optionally to the expected answers (dnspython, async)."""

from __future__ import annotations

from datetime import timedelta

import dns.asyncresolver
import dns.exception
import dns.resolver

from slm.domain.probe import DnsCheck, timeout_reason
from slm.sources.probes.outcome import Outcome, failed, passed


def normalise(text: str) -> str:
    """Answers compared the way people write them: no trailing dots, no TXT quotes, any case."""
    return " ".join(tok.strip('"').rstrip(".") for tok in text.split()).lower()


async def check_dns(check: DnsCheck, timeout: timedelta) -> Outcome:
    what = f"{check.name} {check.record_type}"
    try:
        resolver = dns.asyncresolver.Resolver(configure=check.nameserver is None)
    except dns.resolver.NoResolverConfiguration:
        return failed("no nameserver configured on this host: set dns.nameserver")
    if check.nameserver is not None:
        resolver.nameservers = [check.nameserver]
        resolver.port = check.port
    resolver.lifetime = timeout.total_seconds()
    try:
        answer = await resolver.resolve(check.name, check.record_type, search=False)
    except dns.resolver.NXDOMAIN:
        return failed(f"{check.name}: no such domain (NXDOMAIN)")
    except dns.resolver.NoAnswer:
        return failed(f"{check.name}: no {check.record_type} records")
    except dns.resolver.LifetimeTimeout:
        return failed(timeout_reason(timeout))
    except dns.resolver.NoNameservers as e:
        return failed(f"{what}: no nameserver answered ({e})")
    except dns.exception.DNSException as e:
        return failed(f"{what}: DNS error: {e}")
    got = sorted(rdata.to_text() for rdata in answer)
    have = {normalise(v) for v in got}
    missing = [v for v in check.expect if normalise(v) not in have]
    if missing:
        return failed(
            f"{what}: expected {', '.join(missing)} not among the answers ({', '.join(got)})",
            answers=got,
        )
    return passed(answers=got)
