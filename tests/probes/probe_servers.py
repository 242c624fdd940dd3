"""Real servers on loopback for the probe tests: HTTP(S) with misbehaving endpoints and a
stateful shop (login, cart, checkout), a UDP DNS server, and TCP ports.

Each runs in a daemon thread and is stopped by the fixture that started it.
"""

from __future__ import annotations

import itertools
import json
import socket
import ssl
import struct
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

# Certificates carry fixed validity dates, never dates taken from the clock. OpenSSL checks
# them against the real clock during the handshake, so the test certificate is valid from
# 2000 to 2999 (trustme's CA: 2000 to 3000); the probe's own "now", against which it counts
# the days left, is a fixed instant passed to it.
CERT_VALID_FROM = datetime(2000, 1, 1, tzinfo=UTC)
CERT_EXPIRES = datetime(2999, 12, 1, tzinfo=UTC)

HEALTH = {"status": "ok", "version": "1.2.3", "items": [{"sku": "a1"}, {"sku": "b2"}]}
PASSWORD = "secret"


@dataclass
class Shop:
    """The state of the login/cart/checkout flow."""

    tokens: dict[str, str] = field(default_factory=dict)  # token -> session cookie
    carts: dict[str, list[str]] = field(default_factory=dict)
    orders: list[str] = field(default_factory=list)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    lock: threading.Lock = field(default_factory=threading.Lock)


class ProbeHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, tls: ssl.SSLContext | None = None):
        super().__init__(("127.0.0.1", 0), Handler)
        self.tls = tls
        self.stopping = threading.Event()
        self.shop = Shop()
        self.hits: dict[str, int] = {}

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, addr = super().get_request()
        if self.tls is not None:
            conn = self.tls.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        return conn, addr

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # resets and aborted handshakes are the point of several endpoints

    @property
    def base(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.server_address[1]}"

    def start(self) -> ProbeHTTPServer:
        threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()


class Handler(BaseHTTPRequestHandler):
    server: ProbeHTTPServer
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # --- helpers ----------------------------------------------------------------------

    def reply(self, status: int, body: Any = b"", headers: dict[str, str] | None = None) -> None:
        if isinstance(body, dict | list):
            data = json.dumps(body).encode()
            headers = {"Content-Type": "application/json", **(headers or {})}
        else:
            data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def token(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        tok = auth.removeprefix("Bearer ").strip()
        return tok if tok in self.server.shop.tokens else None

    # --- routes -----------------------------------------------------------------------

    def do_GET(self) -> None:
        self.route("GET")

    def do_POST(self) -> None:
        self.route("POST")

    def do_PUT(self) -> None:
        self.route("PUT")

    def route(self, method: str) -> None:
        path = self.path.split("?", 1)[0]
        self.server.hits[path] = self.server.hits.get(path, 0) + 1
        body = self.body()
        if path == "/health":
            self.reply(200, HEALTH)
        elif path.startswith("/status/"):
            self.reply(int(path.rsplit("/", 1)[1]), "boom")
        elif path == "/hang":
            self.server.stopping.wait(30)
        elif path == "/reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()
            self.wfile.close()
            self.connection.close()  # with linger 0: an RST, not a FIN
        elif path == "/garbage":
            self.wfile.write(b"\x00\x01\x02 this is not HTTP at all\r\n\r\n")
            self.wfile.flush()
            self.close_connection = True
        elif path == "/badjson":
            self.reply(200, b'{"status": ok', {"Content-Type": "application/json"})
        elif path == "/html":
            self.reply(200, "<html><body>Welcome to the shop</body></html>")
        elif path == "/redirect":
            self.reply(302, "", {"Location": "/health"})
        elif path == "/redirect-loop":
            self.reply(302, "", {"Location": "/redirect-loop"})
        elif path == "/slow":
            time.sleep(0.3)
            self.reply(200, {"status": "ok"})
        elif path == "/echo":
            self.reply(
                200,
                {
                    "method": method,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body.decode(),
                },
            )
        else:
            self.shop_route(method, path, body)

    def shop_route(self, method: str, path: str, body: bytes) -> None:
        shop = self.server.shop
        parts = [p for p in path.split("/") if p]
        with shop.lock:
            if method == "POST" and parts == ["login"]:
                creds = json.loads(body or b"{}")
                if creds.get("password") != PASSWORD:
                    return self.reply(401, {"error": "bad credentials"})
                n = next(shop.ids)
                token, session = f"tok-{n}", f"s-{n}"
                shop.tokens[token] = session
                return self.reply(
                    200, {"token": token}, {"Set-Cookie": f"session={session}; Path=/"}
                )
            bearer = self.token()
            if bearer is None:
                return self.reply(401, {"error": "not logged in"})
            token = bearer
            if method == "POST" and parts == ["cart"]:
                cart = f"c{next(shop.ids)}"
                shop.carts[cart] = []
                return self.reply(201, {"cartId": cart}, {"Location": f"/cart/{cart}"})
            if len(parts) == 3 and parts[0] == "cart" and parts[1] in shop.carts:
                cart = parts[1]
                if method == "POST" and parts[2] == "items":
                    shop.carts[cart].append(json.loads(body)["sku"])
                    return self.reply(200, {"items": len(shop.carts[cart])})
                if method == "POST" and parts[2] == "checkout":
                    cookie = self.headers.get("Cookie", "")
                    if f"session={shop.tokens[token]}" not in cookie:
                        return self.reply(403, {"error": "no session cookie"})
                    if not shop.carts[cart]:
                        return self.reply(409, {"error": "empty cart"})
                    order = f"o-{next(shop.ids)}"
                    shop.orders.append(order)
                    return self.reply(200, {"order": order, "status": "confirmed"})
            return self.reply(404, {"error": f"no route {method} {path}"})


# --- DNS --------------------------------------------------------------------------------

ZONE: dict[tuple[str, str], list[str]] = {
    ("shop.test.", "A"): ["127.0.0.1", "127.0.0.2"],
    ("shop.test.", "MX"): ["10 mx.shop.test."],
    ("shop.test.", "TXT"): ['"v=spf1 -all"'],
    ("www.shop.test.", "CNAME"): ["shop.test."],
}
HANG = "hang.shop.test."
BROKEN = "broken.shop.test."


class DnsServer:
    """Answers from ``ZONE``; never answers ``HANG``; SERVFAIL for ``BROKEN``."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port: int = self.sock.getsockname()[1]
        self.stopping = threading.Event()
        self.queries = 0

    def start(self) -> DnsServer:
        threading.Thread(target=self.serve, daemon=True).start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.sock.close()

    def serve(self) -> None:
        while not self.stopping.is_set():
            try:
                wire, addr = self.sock.recvfrom(4096)
            except (TimeoutError, OSError):
                continue
            self.queries += 1
            reply = self.answer(dns.message.from_wire(wire))
            if reply is not None:
                self.sock.sendto(reply.to_wire(), addr)

    def answer(self, query: dns.message.Message) -> dns.message.Message | None:
        q = query.question[0]
        name, rtype = q.name.to_text().lower(), dns.rdatatype.to_text(q.rdtype)
        if name == HANG:
            return None
        resp = dns.message.make_response(query)
        resp.flags |= dns.flags.AA
        if name == BROKEN:
            resp.set_rcode(dns.rcode.SERVFAIL)
        elif (name, rtype) in ZONE:
            resp.answer.append(dns.rrset.from_text(name, 60, "IN", rtype, *ZONE[(name, rtype)]))
        elif not any(n == name for n, _ in ZONE):
            resp.set_rcode(dns.rcode.NXDOMAIN)
        return resp


# --- TCP --------------------------------------------------------------------------------


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port: int = s.getsockname()[1]
    s.close()
    return port
