"""The built-in kinds: every accepted (apiVersion, kind) with its model and mapper.

Models and mappers are named by ``"module:attribute"`` and imported when a document of
that kind is first read, so that a workspace of OpenSLO v1 SLOs builds only the OpenSLO v1
models (pydantic builds a model's validator when its class is created, which is most of
what importing a spec module costs). ``tests/spec/test_spec_registry.py`` checks that
every name resolves.
"""

from __future__ import annotations

from slm.spec.registry import SLO_GENERATOR_API, SLOTH_KIND, KindEntry

_S = "slm.spec."
_M = "slm.spec.mapper."

V1 = "openslo/v1"
V1ALPHA = "openslo/v1alpha"
V2_VERSIONS = ("openslo.com/v2alpha", "openslo/v2alpha")
SLOTH_VERSION = "prometheus/v1"
SLOTH_K8S = "sloth.slok.dev/v1"
PYRRA = "pyrra.dev/v1alpha1"


def builtin_entries() -> list[KindEntry]:
    v1, v1a, v2 = _S + "openslo_v1:", _S + "openslo_v1alpha:", _S + "openslo_v2alpha:"
    service = _M + "openslo_v1:map_v1_service"
    datasource = _M + "openslo_v1:map_v1_datasource"
    condition = _M + "alert_policies:map_v1_condition"
    target = _M + "alert_policies:map_v1_target"
    policy = _M + "alert_policies:map_v1_policy"
    entries = [
        KindEntry(V1, "Service", v1 + "Service", service, "service"),
        KindEntry(V1, "DataSource", v1 + "DataSource", datasource, "datasource"),
        KindEntry(V1, "SLI", v1 + "SLI", _M + "openslo_v1:map_v1_sli", "sli"),
        KindEntry(V1, "SLO", v1 + "SLO", _M + "openslo_v1:map_v1_slo", "slo"),
        KindEntry(V1, "AlertCondition", v1 + "AlertCondition", condition, "alert_condition"),
        KindEntry(
            V1,
            "AlertNotificationTarget",
            v1 + "AlertNotificationTarget",
            target,
            "notification_target",
        ),
        KindEntry(V1, "AlertPolicy", v1 + "AlertPolicy", policy, "alert_policy"),
        KindEntry(V1ALPHA, "Service", v1a + "Service", service, "service"),
        KindEntry(V1ALPHA, "SLO", v1a + "SLO", _M + "openslo_v1alpha:map_v1alpha_slo", "slo"),
        KindEntry(SLOTH_VERSION, SLOTH_KIND, _S + "sloth:Spec", _M + "sloth:map_sloth_file", "slo"),
        KindEntry(
            SLOTH_K8S,
            "PrometheusServiceLevel",
            _S + "sloth:PrometheusServiceLevel",
            _M + "sloth:map_sloth_k8s",
            "slo",
        ),
        KindEntry(
            PYRRA,
            "ServiceLevelObjective",
            _S + "pyrra:ServiceLevelObjective",
            _M + "pyrra:map_pyrra",
            "slo",
        ),
        KindEntry(
            SLO_GENERATOR_API,
            "ServiceLevelObjective",
            _S + "slo_generator:ServiceLevelObjective",
            _M + "slo_generator:map_slo",
            "slo",
        ),
        KindEntry(
            SLO_GENERATOR_API,
            "SloGeneratorConfig",
            _S + "slo_generator:Config",
            _M + "slo_generator:map_config",
            "alert_policy",
        ),
        KindEntry(
            SLOTH_K8S,
            "AlertWindows",
            _S + "sloth:AlertWindows",
            _M + "catalogue:map_sloth_windows",
            "object",
        ),
        KindEntry(
            "slm/v1",
            "AlertWindowCatalogue",
            _S + "slm_v1:AlertWindowCatalogue",
            _M + "catalogue:map_catalogue",
            "object",
        ),
        *(
            KindEntry("slm/v1", kind, _S + model, _S + mapper)
            for kind, model, mapper in (
                ("Probe", "probe:ProbeModel", "probe:map_probe"),
                ("Component", "components:ComponentModel", "components:map_component"),
                ("RetentionPolicy", "retention:RetentionPolicyModel", "retention:map_policy"),
                ("LegalHold", "retention:LegalHoldModel", "retention:map_hold"),
                (
                    "IncidentPriorityPolicy",
                    "incident_rules:IncidentPriorityPolicyModel",
                    "incident_rules:map_policy",
                ),
                ("Agreement", "agreements:AgreementModel", "agreements:map_agreement"),
                ("Calendar", "agreements:CalendarModel", "agreements:map_calendar"),
                ("Exclusion", "agreements:ExclusionModel", "agreements:map_exclusion"),
                (
                    "NotificationChannel",
                    "escalation:NotificationChannelModel",
                    "escalation:map_channel",
                ),
                ("EscalationPolicy", "escalation:EscalationPolicyModel", "escalation:map_policy"),
            )
        ),
    ]
    for version in V2_VERSIONS:
        entries += [
            KindEntry(version, "Service", v2 + "Service", service, "service"),
            KindEntry(version, "DataSource", v2 + "DataSource", datasource, "datasource"),
            KindEntry(version, "SLI", v2 + "SLI", _M + "openslo_v2alpha:map_v2_sli", "sli"),
            KindEntry(version, "SLO", v2 + "SLO", _M + "openslo_v2alpha:map_v2_slo", "slo"),
            KindEntry(
                version, "AlertCondition", v2 + "AlertCondition", condition, "alert_condition"
            ),
            KindEntry(
                version,
                "AlertNotificationTarget",
                v2 + "AlertNotificationTarget",
                target,
                "notification_target",
            ),
            KindEntry(version, "AlertPolicy", v2 + "AlertPolicy", policy, "alert_policy"),
        ]
    return entries
