"""``connectionDetails`` of a Prometheus DataSource: accepted forms and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from slm.domain.errors import SourceError
from slm.domain.model import DataSource, Origin
from slm.sources.prometheus_config import RetryPolicy, config_for
from slm.spec.loader import load_workspace

DATASOURCE = """\
apiVersion: openslo/v1
kind: DataSource
metadata:
  name: prom
spec:
  type: Prometheus
  connectionDetails:
{details}
"""


def load(tmp_path: Path, details: str) -> DataSource:
    path = tmp_path / "ds.yaml"
    path.write_text(DATASOURCE.format(details=details), encoding="utf-8")
    return load_workspace([path]).datasources["prom"]


@pytest.mark.parametrize(
    "details",
    [
        pytest.param("    url: http://p:9090/\n    timeout: 5s", id="map"),
        pytest.param("    - url: http://p:9090/\n    - timeout: 5s", id="list-of-maps"),
    ],
)
def test_both_openslo_forms(tmp_path: Path, details: str) -> None:
    config = config_for(load(tmp_path, details), {})
    assert (config.url, config.timeout) == ("http://p:9090", 5.0)
    assert config.label.endswith("ds.yaml:1: DataSource/prom")


def test_defaults() -> None:
    config = config_for(DataSource("p", "Prometheus", {"url": "https://p"}), {})
    assert (config.max_points, config.max_in_flight, config.retry) == (11000, 4, RetryPolicy())


@pytest.mark.parametrize(
    ("details", "message"),
    [
        pytest.param({}, "connectionDetails.url: required field missing", id="no-url"),
        pytest.param({"url": "p:9090"}, "url: must start with http://", id="no-scheme"),
        pytest.param({"url": "http://p", "tiemout": "5s"}, "tiemout: unknown field", id="typo"),
        pytest.param({"url": "http://p", "timeout": "fast"}, "timeout: invalid duration", id="dur"),
        pytest.param(
            {"url": "http://p", "retry": {"attempts": 0}},
            "retry.attempts: must be at least 1",
            id="attempts",
        ),
        pytest.param(
            {"url": "http://p", "basicAuth": {"password": "x"}},
            "basicAuth.username: required",
            id="basic-no-user",
        ),
        pytest.param(
            {"url": "http://p", "bearerToken": "a", "basicAuth": {"username": "u"}},
            "use either basicAuth or a bearer token",
            id="two-auths",
        ),
        pytest.param(
            {"url": "http://p", "tls": {"certFile": "c.pem"}},
            "tls.keyFile: required",
            id="cert-without-key",
        ),
        pytest.param(
            {"url": "http://p", "bearerTokenFile": "missing"},
            "bearerTokenFile: cannot read",
            id="token-file",
        ),
    ],
)
def test_bad_details_name_file_line_object_and_field(
    details: dict[str, object], message: str
) -> None:
    ds = DataSource("prom", "Prometheus", details, origin=Origin("specs/ds.yaml", 3))
    with pytest.raises(SourceError, match=message) as e:
        config_for(ds, {})
    assert str(e.value).startswith("specs/ds.yaml:3: DataSource/prom: spec.connectionDetails.")


def test_a_list_item_that_is_not_a_map_is_a_spec_problem(tmp_path: Path) -> None:
    from slm.domain.errors import SpecError

    with pytest.raises(SpecError, match=r"connectionDetails.*item 0 of the list is not a map"):
        load(tmp_path, "    - http://p:9090")
