"""Multi-step transactions against the stateful shop: log in, fill a cart, check out."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from probe_servers import ProbeHTTPServer

from slm.domain.probe import CheckResult, Probe
from slm.services.ports import FixedClock
from slm.sources.probes import run_check
from slm.spec.loader import load_workspace
from slm.spec.probe import probes_in

AT = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)

FLOW = """\
apiVersion: slm/v1
kind: Probe
metadata: {name: checkout}
spec:
  timeout: 5s
  transaction:
    variables: {base: "BASE", sku: a1}
    steps:
      - name: login
        url: "{{ base }}/login"
        method: POST
        json: {user: probe, password: "{{ env.SHOP_PASSWORD }}"}
        extract:
          token: {json: $.token}
      - name: new-cart
        url: "{{ base }}/cart"
        method: POST
        headers: {Authorization: "Bearer {{ token }}"}
        expect: {status: 201}
        extract:
          cart_path: {header: location}
          cart: {regex: '"cartId": "(c\\d+)"'}
      - name: add-item
        url: "{{ base }}{{ cart_path }}/items"
        method: POST
        headers: {Authorization: "Bearer {{ token }}"}
        body: '{"sku": "{{ sku }}"}'
        expect: {json: [{path: $.items, equals: 1}]}
      - name: checkout
        url: "{{ base }}/cart/{{ cart }}/checkout"
        method: POST
        headers: {Authorization: "Bearer {{ token }}"}
        expect:
          json:
            - {path: $.status, equals: confirmed}
            - {path: $.order, matches: '^o-\\d+$'}
"""


def load(tmp_path: Path, base: str, text: str = FLOW) -> Probe:
    path = tmp_path / "flow.yaml"
    path.write_text(text.replace("BASE", base))
    (probe,) = probes_in(load_workspace([path]).objects)
    return probe


def run(p: Probe, password: str = "secret") -> CheckResult:
    return asyncio.run(run_check(p, FixedClock(AT), env={"SHOP_PASSWORD": password}))


def test_the_whole_flow_passes_and_places_an_order(
    http_server: ProbeHTTPServer, tmp_path: Path
) -> None:
    orders = len(http_server.shop.orders)
    result = run(load(tmp_path, http_server.base))
    assert result.success, result.reason
    assert [s["name"] for s in result.details["steps"]] == [
        "login",
        "new-cart",
        "add-item",
        "checkout",
    ]
    assert [s["status"] for s in result.details["steps"]] == [200, 201, 200, 200]
    assert len(http_server.shop.orders) == orders + 1
    assert result.latency == sum(s["latency_seconds"] for s in result.details["steps"])


def test_a_failed_login_stops_the_flow_at_that_step(
    http_server: ProbeHTTPServer, tmp_path: Path
) -> None:
    result = run(load(tmp_path, http_server.base), password="wrong")
    assert (result.success, result.reason) == (False, "step 'login': status 401 != 200")
    assert result.details["failed_step"] == "login"
    assert [s["name"] for s in result.details["steps"]] == ["login"]


def test_cookies_carry_over_between_steps(http_server: ProbeHTTPServer, tmp_path: Path) -> None:
    # checkout needs the session cookie set by login: it only passes if the client kept it
    # (the whole-flow test) and fails when the cookie is replaced by a wrong one.
    text = FLOW.replace(
        'headers: {Authorization: "Bearer {{ token }}"}\n        expect:\n          json:',
        'headers: {Authorization: "Bearer {{ token }}", Cookie: "session=forged"}\n'
        "        expect:\n          json:",
    )
    result = run(load(tmp_path, http_server.base, text))
    assert result.reason == "step 'checkout': status 403 != 200"


def test_an_extraction_that_finds_nothing_fails_its_step(
    http_server: ProbeHTTPServer, tmp_path: Path
) -> None:
    text = FLOW.replace("token: {json: $.token}", "token: {json: $.access_token}")
    result = run(load(tmp_path, http_server.base, text))
    assert result.reason == "step 'login': extract token: JSON path $.access_token found nothing"


def test_a_missing_header_fails_its_step(http_server: ProbeHTTPServer, tmp_path: Path) -> None:
    text = FLOW.replace("cart_path: {header: location}", "cart_path: {header: X-Cart}")
    result = run(load(tmp_path, http_server.base, text))
    assert result.reason == "step 'new-cart': extract cart_path: no header 'X-Cart' in the response"


def test_a_target_that_goes_away_mid_flow(http_server: ProbeHTTPServer, tmp_path: Path) -> None:
    text = FLOW.replace('url: "{{ base }}/cart"\n', 'url: "{{ base }}/reset"\n')
    result = run(load(tmp_path, http_server.base, text))
    assert result.reason == "step 'new-cart': connection reset by peer"
    assert [s["name"] for s in result.details["steps"]] == ["login"]
