"""The predefined templates: what they say, and what the customer-facing one never says."""

from __future__ import annotations

import re

import pytest

from slm.domain.escalation import Firing
from slm.notify.rendering import (
    PREDEFINED,
    check,
    message_context,
    predefined,
    sample_firings,
)

SAMPLES = sample_firings()


def ids(f: Firing) -> str:
    status = f.alert.status if f.alert else "budget"
    return f"{f.trigger}-{status}-{'result' if f.result else 'no-result'}"


@pytest.mark.parametrize("name", PREDEFINED)
def test_predefined_templates_pass_their_own_check(name: str) -> None:
    assert check(predefined(name)) == []


@pytest.mark.parametrize("firing", SAMPLES, ids=ids)
def test_internal_update_states_the_facts(firing: Firing) -> None:
    subject, body = predefined("internal-update").render(message_context(firing))
    assert "\n" not in subject
    assert f"{firing.service}/{firing.slo}" in subject
    assert f"escalation policy {firing.policy}" in body
    assert "As of 2026-11-03 14:05 UTC." in body
    if firing.trigger == "budget":
        consumed = firing.budget_consumed
        assert consumed is not None
        assert f"{consumed * 100:.1f}% of the error budget consumed" in subject
    else:
        assert firing.alert is not None
        assert f"burn-rate alert {firing.alert.status}" in subject
        assert "burn rate over 1h: 14.9x" in body


# Words that would concede an agreement breach, or fault, before the service review.
CONCEDING = re.compile(
    r"breach|violat|credit|penalt|compensat|refund|\bliab|fault|guarantee|"
    r"\bSLA\b|missed|failed to meet|did not meet|below (?:the|our) target|error budget|"
    r"burn|\bSLO\b|objective|apolog",
    re.IGNORECASE,
)


@pytest.mark.parametrize("firing", SAMPLES, ids=ids)
def test_customer_update_reports_impact_without_conceding(firing: Firing) -> None:
    subject, body = predefined("customer-update").render(message_context(firing))
    text = f"{subject}\n{body}"
    assert not CONCEDING.findall(text), CONCEDING.findall(text)
    assert subject.startswith(f"Service update: {firing.service}")
    # it reports impact (or recovery) and defers any conclusion to the review
    if firing.alert is not None and firing.alert.status == "resolved":
        assert "is operating normally again" in body
    else:
        assert "may not have completed or may have taken" in " ".join(body.split())
    assert "provisional" in body
    assert "assessed in the regular service review" in " ".join(body.split())
    # internal mechanics stay internal
    assert firing.policy not in text and "episode" not in text


def test_customer_update_reports_the_measured_share_when_there_is_one() -> None:
    budget = next(f for f in SAMPLES if f.trigger == "budget" and f.result is not None)
    _, body = predefined("customer-update").render(message_context(budget))
    assert "99.92% of the\nrequests we measured for checkout were served as expected" in body


def test_test_messages_are_marked() -> None:
    for name in PREDEFINED:
        subject, body = predefined(name).render(message_context(SAMPLES[0], test=True))
        assert subject.startswith("[TEST] ")
        assert "does not describe a real event" in body
