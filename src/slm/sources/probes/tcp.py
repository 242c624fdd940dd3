"""TCP checks: the port accepts a connection."""

from __future__ import annotations

import asyncio
import contextlib
import socket

from slm.domain.probe import TcpCheck
from slm.sources.probes.outcome import Outcome, failed, passed


async def check_tcp(check: TcpCheck) -> Outcome:
    where = f"{check.host}:{check.port}"
    try:
        _, writer = await asyncio.open_connection(check.host, check.port)
    except ConnectionRefusedError:
        return failed(f"connection refused by {where}", address=where)
    except socket.gaierror as e:
        return failed(f"cannot resolve {check.host}: {e.strerror}", address=where)
    except OSError as e:
        return failed(f"cannot connect to {where}: {e.strerror or e}", address=where)
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return passed(address=where)
