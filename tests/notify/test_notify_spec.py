"""NotificationChannel and EscalationPolicy specs: what loads, and what is refused where."""

from __future__ import annotations

from pathlib import Path

import pytest

from slm.domain.errors import SpecError
from slm.notify.channels import EmailChannel, SlackChannel, WebhookChannel
from slm.spec.escalation import CHANNEL_KEY, POLICY_KEY, PolicyDefinition
from slm.spec.loader import load_workspace

FIXTURES = Path(__file__).parent / "fixtures"

CHANNELS = """
apiVersion: slm/v1
kind: NotificationChannel
metadata: {name: hook}
spec:
  webhook: {url: "https://hooks.example.com/x", secretEnv: HOOK_SECRET}
---
apiVersion: slm/v1
kind: NotificationChannel
metadata: {name: mail}
spec:
  email: {host: smtp.example.com, from: slm@example.com}
"""


def load(tmp_path: Path, text: str, *, with_channels: bool = True) -> object:
    (tmp_path / "policy.yaml").write_text(text)
    if with_channels:
        (tmp_path / "channels.yaml").write_text(CHANNELS)
    return load_workspace([tmp_path])


def problems(tmp_path: Path, text: str, *, with_channels: bool = True) -> list[str]:
    with pytest.raises(SpecError) as e:
        load(tmp_path, text, with_channels=with_channels)
    return [str(p) for p in e.value.problems]


def test_the_fixture_workspace_loads_every_form() -> None:
    ws = load_workspace([FIXTURES])
    channels = ws.objects[CHANNEL_KEY]
    assert isinstance(channels["ops-webhook"], WebhookChannel)
    assert channels["ops-webhook"].secret_env == "SLM_TEST_WEBHOOK_SECRET"
    assert channels["ops-webhook"].retry.max_attempts == 3
    assert isinstance(channels["team-slack"], SlackChannel)
    assert isinstance(channels["mail"], EmailChannel) and channels["mail"].port == 2525
    d = ws.objects[POLICY_KEY]["checkout"]
    assert isinstance(d, PolicyDefinition)
    levels = d.policy.levels
    assert [lv.name for lv in levels] == [
        "half-budget",
        "three-quarters",
        "page",
        "budget-exhausted",
        "customer",
    ]
    assert levels[0].budget is not None and levels[0].budget.consumed_percent == 50
    assert levels[2].alert is not None and levels[2].alert.on_resolve
    assert levels[3].recipients[0].to == ("cto@example.com", "support-lead@example.com")
    assert [d.templates[n].name for n in (1, 4, 5)] == [
        "internal-update",
        "stakeholders",
        "customer-update",
    ]


POLICY_HEAD = """apiVersion: slm/v1
kind: EscalationPolicy
metadata: {name: p}
spec:
  recipients:
    team: {channel: hook}
  levels:
"""


@pytest.mark.parametrize(
    ("levels", "expected"),
    [
        pytest.param(
            "    - when: {budgetConsumed: 50}\n      notify: [team]\n"
            "      template:\n        subject: x\n        body: |\n          fine\n"
            "          {{ slo.name }}\n          {{ slo.nmae }}\n",
            "policy.yaml:15: EscalationPolicy/p: spec.levels[0].template.body: template error: "
            "'dict object' has no attribute 'nmae'",
            id="undefined-attribute-at-its-line-in-a-block-scalar",
        ),
        pytest.param(
            "    - when: {budgetConsumed: 50}\n      notify: [team]\n"
            '      template: {subject: "{{ budget.consumed|percent ", body: x}\n',
            "policy.yaml:10: EscalationPolicy/p: spec.levels[0].template.subject: "
            "template syntax error: unexpected end of template",
            id="syntax-error",
        ),
        pytest.param(
            "    - when: {budgetConsumed: 50}\n      notify: [team]\n"
            "      template: {subject: x, body: '{{ sla_breached }}'}\n",
            "policy.yaml:10: EscalationPolicy/p: spec.levels[0].template.body: "
            "unknown variable 'sla_breached' (known: alert, at, budget",
            id="unknown-variable",
        ),
        pytest.param(
            "    - when: {budgetConsumed: 50}\n      notify: [team]\n"
            "      template: {subject: x, body: \"{{ ''.__class__.__mro__ }}\"}\n",
            "spec.levels[0].template.body: template error: access to attribute '__class__' "
            "of 'str' object is unsafe",
            id="sandbox-refuses-python-internals",
        ),
        pytest.param(
            "    - when: {budgetConsumed: 50}\n      notify: [team]\n"
            "      template: {subject: '{{ alert.severity }}', body: x}\n",
            "template error: 'None' has no attribute 'severity'",
            id="alert-fields-in-a-budget-level",
        ),
        pytest.param(
            "    - when: {budgetConsumed: 50}\n      notify: [team]\n      template: pager\n",
            "spec.levels[0].template.name: unknown template 'pager' (predefined: "
            "internal-update, customer-update",
            id="unknown-predefined",
        ),
        pytest.param(
            "    - when: {budgetConsumed: 50}\n      notify: [team]\n"
            "      template: {subject: '', body: x}\n",
            "the subject renders empty",
            id="empty-subject",
        ),
        pytest.param(
            "    - when: {budgetConsumed: 50, alert: page}\n      notify: [team]\n",
            "policy.yaml:8: EscalationPolicy/p: spec.levels[0].when: set exactly one of "
            "budgetConsumed (a percent) and alert",
            id="two-triggers",
        ),
        pytest.param(
            "    - when: {}\n      notify: [team]\n",
            "spec.levels[0].when: set exactly one of",
            id="no-trigger",
        ),
        pytest.param(
            "    - when: {budgetConsumed: 50}\n      notify: [team, ghosts]\n",
            "spec.levels[0].notify[1]: unknown recipient group 'ghosts' (spec.recipients has: "
            "team)",
            id="unknown-recipient-group",
        ),
        pytest.param(
            "    - when: {budgetConsumed: 0}\n      notify: [team]\n",
            "spec.levels[0].when.budgetConsumed: must be greater than 0",
            id="zero-percent",
        ),
        pytest.param(
            "    - when: {budgetConsumed: 50}\n      notify: [team]\n"
            "      template: {file: nowhere.j2}\n",
            "spec.levels[0].template.file: cannot read template",
            id="missing-template-file",
        ),
        pytest.param(
            "    - {name: a, when: {budgetConsumed: 50}, notify: [team]}\n"
            "    - {name: a, when: {budgetConsumed: 75}, notify: [team]}\n",
            "spec.levels[1].name: duplicate level name 'a' (level 1)",
            id="duplicate-level-name",
        ),
    ],
)
def test_bad_policies_are_reported_with_file_line_and_field(
    tmp_path: Path, levels: str, expected: str
) -> None:
    found = problems(tmp_path, POLICY_HEAD + levels)
    assert any(expected in p for p in found), found


def test_template_file_errors_point_into_the_template_file(tmp_path: Path) -> None:
    (tmp_path / "t.j2").write_text(
        "{% block subject %}s{% endblock %}\n{% block body %}\nok\n{{ budget.nope }}\n"
        "{% endblock %}\n"
    )
    found = problems(
        tmp_path,
        POLICY_HEAD
        + "    - when: {budgetConsumed: 50}\n      notify: [team]\n      template: {file: t.j2}\n",
    )
    assert found == [
        f"{tmp_path / 't.j2'}:4: EscalationPolicy/p: spec.levels[0].template.file: "
        "template error: 'dict object' has no attribute 'nope'"
    ]


def test_template_file_without_blocks_is_refused(tmp_path: Path) -> None:
    (tmp_path / "t.j2").write_text("Just {{ service }}\n")
    found = problems(
        tmp_path,
        POLICY_HEAD
        + "    - when: {budgetConsumed: 50}\n      notify: [team]\n      template: {file: t.j2}\n",
    )
    assert "template has no subject and no body block" in found[0]


def test_an_alert_level_template_may_use_alert_fields(tmp_path: Path) -> None:
    ws = load(
        tmp_path,
        POLICY_HEAD + "    - when: {alert: page}\n      notify: [team]\n"
        "      template: {subject: '{{ alert.severity }} {{ alert.status }}', body: x}\n",
    )
    assert ws.objects[POLICY_KEY]["p"].policy.levels[0].alert.severities == ("page",)  # type: ignore[attr-defined]


RECIPIENT_CASES = [
    pytest.param(
        "    team: {channel: nope}\n",
        "spec.recipients.team.channel: unknown NotificationChannel 'nope'",
        id="unknown-channel",
    ),
    pytest.param(
        "    team: {channel: mail}\n",
        "spec.recipients.team.to: channel 'mail' sends email: list the addresses in to",
        id="email-without-addresses",
    ),
    pytest.param(
        "    team: {channel: hook, to: [a@example.com]}\n",
        "channel 'hook' is a webhook: its URL is the address, remove to",
        id="addresses-on-a-webhook",
    ),
    pytest.param(
        "    team: {channel: mail, to: [not-an-address]}\n",
        "'not-an-address' is not an email address",
        id="bad-address",
    ),
]


@pytest.mark.parametrize(("recipients", "expected"), RECIPIENT_CASES)
def test_bad_recipients(tmp_path: Path, recipients: str, expected: str) -> None:
    text = (
        "apiVersion: slm/v1\nkind: EscalationPolicy\nmetadata: {name: p}\nspec:\n"
        "  recipients:\n" + recipients + "  levels:\n"
        "    - {when: {budgetConsumed: 50}, notify: [team]}\n"
    )
    found = problems(tmp_path, text)
    assert any(expected in p for p in found), found


CHANNEL_CASES = [
    pytest.param(
        "  webhook: {url: 'https://x.example.com', secret: hunter2}\n",
        "spec.webhook: 'secret' would put a secret in the spec: store it in an environment "
        "variable and name the variable in 'secretEnv'",
        id="inline-hmac-secret",
    ),
    pytest.param(
        "  slack: {url: 'https://hooks.slack.com/services/T/B/X'}\n",
        "'url' would put a secret in the spec",
        id="inline-slack-url",
    ),
    pytest.param(
        "  email: {host: h, from: a@example.com, password: pw}\n",
        "name the variable in 'passwordEnv'",
        id="inline-smtp-password",
    ),
    pytest.param(
        "  email: {host: h, from: a@example.com, usernameEnv: U}\n",
        "set both usernameEnv and passwordEnv, or neither",
        id="half-credentials",
    ),
    pytest.param(
        "  webhook: {url: 'ftp://x.example.com'}\n",
        "is not an http:// or https:// URL",
        id="not-http",
    ),
    pytest.param(
        "  webhook: {url: 'https://x.example.com', secretEnv: 'not a name'}\n",
        "is not an environment variable name",
        id="bad-env-name",
    ),
    pytest.param("  {}\n", "set one of webhook, slack, email", id="no-channel"),
    pytest.param(
        "  webhook: {url: 'https://x.example.com'}\n  slack: {urlEnv: S}\n",
        "set only one of webhook, slack, email (found webhook, slack)",
        id="two-channels",
    ),
    pytest.param(
        "  webhook: {url: 'https://x.example.com'}\n"
        "  retry: {initialBackoff: 1h, maxBackoff: 1m}\n",
        "spec.retry.maxBackoff: must not be below initialBackoff",
        id="backoff-upside-down",
    ),
]


@pytest.mark.parametrize(("spec", "expected"), CHANNEL_CASES)
def test_bad_channels(tmp_path: Path, spec: str, expected: str) -> None:
    text = "apiVersion: slm/v1\nkind: NotificationChannel\nmetadata: {name: c}\nspec:\n" + (
        spec if not spec.strip().startswith("{}") else "  description: nothing\n"
    )
    found = problems(tmp_path, text, with_channels=False)
    assert any(expected in p for p in found), found


def test_selector_must_name_declared_services(tmp_path: Path) -> None:
    (tmp_path / "svc.yaml").write_text(
        "apiVersion: openslo/v1\nkind: Service\nmetadata: {name: checkout}\nspec: {}\n"
    )
    found = problems(
        tmp_path,
        "apiVersion: slm/v1\nkind: EscalationPolicy\nmetadata: {name: p}\nspec:\n"
        "  selector: {services: [chekout]}\n  recipients: {team: {channel: hook}}\n"
        "  levels: [{when: {budgetConsumed: 50}, notify: [team]}]\n",
    )
    assert any("spec.selector.services[0]: unknown Service 'chekout'" in p for p in found), found
