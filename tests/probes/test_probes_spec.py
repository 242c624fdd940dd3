"""The ``slm/v1`` ``Probe`` kind: what loads, what it maps to, and every problem reported."""

from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from slm.domain.errors import SpecError
from slm.domain.probe import DnsCheck, HttpCheck, Probe, TcpCheck, TransactionCheck
from slm.spec.loader import load_workspace
from slm.spec.probe import probes_in


def load(tmp_path: Path, spec: str, name: str = "p") -> Probe:
    path = tmp_path / "probe.yaml"
    path.write_text(
        f"apiVersion: slm/v1\nkind: Probe\nmetadata:\n  name: {name}\nspec:\n"
        + textwrap.indent(textwrap.dedent(spec), "  ")
    )
    (probe,) = probes_in(load_workspace([path]).objects)
    return probe


def problems(tmp_path: Path, spec: str) -> list[str]:
    with pytest.raises(SpecError) as e:
        load(tmp_path, spec)
    return [str(p) for p in e.value.problems]


def test_http_probe_maps_every_field(tmp_path: Path) -> None:
    probe = load(
        tmp_path,
        """
        interval: 30s
        timeout: 5s
        location: eu-west-1
        maxLatency: 2s
        http:
          url: https://shop.example/health
          method: post
          headers: {X-Probe: "1"}
          json: {ping: true}
          followRedirects: false
          expect:
            status: [200, 204]
            bodyContains: ok
            json:
              - {path: $.status, equals: ok}
              - {path: $.items, exists: true}
              - {path: $.version, matches: '^1\\.'}
            maxLatency: 500ms
          tls: {minDaysLeft: 14, caFile: ca.pem}
        """,
    )
    assert (probe.interval, probe.timeout) == (timedelta(seconds=30), timedelta(seconds=5))
    assert (probe.location, probe.max_latency) == ("eu-west-1", timedelta(seconds=2))
    assert probe.base_dir == str(tmp_path)
    assert isinstance(probe.check, HttpCheck)
    req = probe.check.request
    assert (req.method, req.body, req.follow_redirects) == ("POST", '{"ping": true}', False)
    assert req.headers == {"X-Probe": "1", "Content-Type": "application/json"}
    assert req.expect.status == (200, 204)
    assert req.expect.body_contains == ("ok",)
    assert [(a.path, a.has_equals, a.exists) for a in req.expect.json] == [
        ("$.status", True, None),
        ("$.items", False, True),
        ("$.version", False, None),
    ]
    assert req.expect.max_latency == timedelta(milliseconds=500)
    assert (probe.check.tls.min_days_left, probe.check.tls.ca_file) == (14, "ca.pem")


def test_defaults(tmp_path: Path) -> None:
    probe = load(tmp_path, "tcp: {host: db.internal, port: 5432}\n")
    assert probe.check == TcpCheck("db.internal", 5432)
    assert (probe.interval, probe.timeout, probe.location) == (
        timedelta(minutes=1),
        timedelta(seconds=10),
        "local",
    )


def test_dns_probe(tmp_path: Path) -> None:
    probe = load(
        tmp_path,
        "dns: {name: shop.test, recordType: aaaa, expect: '::1', nameserver: 127.0.0.1, "
        "port: 5353}\n",
    )
    assert probe.check == DnsCheck("shop.test", "AAAA", ("::1",), "127.0.0.1", 5353)


def test_transaction_probe_knows_extracted_variables(tmp_path: Path) -> None:
    probe = load(
        tmp_path,
        """
        transaction:
          variables: {base: "https://shop.example"}
          steps:
            - name: login
              url: "{{ base }}/login"
              method: POST
              json: {user: probe, password: "{{ env.SHOP_PASSWORD }}"}
              extract:
                token: {json: $.token}
            - url: "{{ base }}/cart"
              method: POST
              headers: {Authorization: "Bearer {{ token }}"}
              expect: {status: 201}
              extract:
                cart: {header: Location}
                cart_id: {regex: 'c(\\d+)'}
        """,
    )
    assert isinstance(probe.check, TransactionCheck)
    assert [s.name for s in probe.check.steps] == ["login", "step-2"]
    assert [e.var for e in probe.check.steps[1].extract] == ["cart", "cart_id"]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param(
            "interval: 1m\n",
            "probe.yaml:5: Probe/p: spec: give exactly one of http, tcp, dns or transaction",
            id="no-check",
        ),
        pytest.param(
            "tcp: {host: a, port: 1}\ndns: {name: a}\n",
            "spec: give exactly one of http, tcp, dns or transaction (found tcp, dns)",
            id="two-checks",
        ),
        pytest.param(
            "interval: 10s\ntimeout: 1m\ntcp: {host: a, port: 1}\n",
            "probe.yaml:7: Probe/p: spec.timeout: timeout 1m exceeds interval 10s",
            id="timeout-over-interval",
        ),
        pytest.param(
            "tcp: {host: a, port: 70000}\n",
            "spec.tcp.port: must be at most 65535",
            id="port-range",
        ),
        pytest.param(
            "http: {url: ftp://x/}\n",
            "spec.http.url: 'ftp://x/' is not an http:// or https:// URL",
            id="not-http",
        ),
        pytest.param(
            "http: {url: 'http://x/', expect: {status: 99}}\n",
            "spec.http.expect.status[0]: must be at least 100",
            id="status-range",
        ),
        pytest.param(
            "http: {url: 'http://x/', expect: {json: [{path: '$.[', exists: true}]}}\n",
            "spec.http.expect.json[0].path: invalid JSON path '$.['",
            id="bad-json-path",
        ),
        pytest.param(
            "http: {url: 'http://x/', expect: {json: [{path: $.a}]}}\n",
            "spec.http.expect.json[0]: give exactly one of exists, equals or matches",
            id="assertion-without-test",
        ),
        pytest.param(
            "http: {url: 'http://x/', expect: {json: [{path: $.a, matches: '(['}]}}\n",
            "spec.http.expect.json[0].matches: invalid regular expression '(['",
            id="bad-regex",
        ),
        pytest.param(
            "http: {url: 'https://x/', tls: {verify: false, minDaysLeft: 3}}\n",
            "spec.http.tls.minDaysLeft: needs verify: true",
            id="expiry-without-verify",
        ),
        pytest.param(
            "http: {url: 'http://x/', tls: {minDaysLeft: 3}}\n",
            "spec.http.tls.minDaysLeft: the probe has no https:// URL",
            id="expiry-on-plain-http",
        ),
        pytest.param(
            "http: {url: 'http://x/', body: a, json: {}}\n",
            "spec.http: give body or json, not both",
            id="body-and-json",
        ),
        pytest.param(
            "http: {url: 'http://x/{{ id }}'}\n",
            "spec.http.url: {{ id }} is not defined by transaction variables",
            id="undefined-variable",
        ),
        pytest.param(
            "dns: {name: a, nameserver: ns1.example}\n",
            "spec.dns.nameserver: 'ns1.example' is not an IP address",
            id="nameserver-not-ip",
        ),
        pytest.param(
            "dns: {name: a, recordType: XYZ}\n",
            "spec.dns.recordType: must be one of A, AAAA",
            id="record-type",
        ),
        pytest.param(
            "location: 'eu west'\ntcp: {host: a, port: 1}\n",
            "spec.location: string should match pattern",
            id="location-label",
        ),
        pytest.param(
            "tcp: {host: a, port: 1, tls: true}\n",
            "spec.tcp.tls: unknown field 'tls'",
            id="unknown-field",
        ),
    ],
)
def test_bad_probe_specs_are_reported_with_file_line_object_field(
    tmp_path: Path, spec: str, expected: str
) -> None:
    found = problems(tmp_path, spec)
    assert any(expected in p for p in found), found
    assert all(p.startswith(str(tmp_path / "probe.yaml")) for p in found)


def test_transaction_step_problems(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """
        transaction:
          steps:
            - name: cart
              url: "http://x/cart/{{ cart }}"
              extract:
                cart: {json: $.id, header: Location}
                bad-name: {regex: x}
            - name: cart
              url: "http://x/{{ cart }}"
        """,
    )
    text = "\n".join(found)
    assert "spec.transaction.steps[0].url: {{ cart }} is not defined" in text
    assert "spec.transaction.steps[0].extract.cart: give exactly one of json, regex or header" in (
        text
    )
    assert "spec.transaction.steps[0].extract.bad-name: invalid variable name 'bad-name'" in text
    assert "spec.transaction.steps[1].name: duplicate step name 'cart'" in text
    # the second step may use {{ cart }}: the first step extracts it
    assert "steps[1].url" not in text


def test_probe_names_share_one_namespace(tmp_path: Path) -> None:
    doc = "apiVersion: slm/v1\nkind: Probe\nmetadata: {name: p}\nspec: {tcp: {host: a, port: 1}}\n"
    (tmp_path / "a.yaml").write_text(doc)
    (tmp_path / "b.yaml").write_text(doc)
    with pytest.raises(SpecError, match="duplicate Probe name 'p'"):
        load_workspace([tmp_path])


def test_example_probes_load(tmp_path: Path) -> None:
    root = Path(__file__).parents[2] / "examples" / "probes"
    probes = probes_in(load_workspace([root]).objects)
    assert {p.check.kind for p in probes} == {"http", "transaction", "tcp"}
