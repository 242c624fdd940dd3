"""The built-in kinds: every accepted (apiVersion, kind) with its model and mapper.

The OpenSLO and Sloth kinds are imported here; the other ``slm/v1`` kinds are named by
``"module:attribute"`` and imported when a document of that kind is first read
(``tests/spec/test_spec_registry.py`` checks that every name resolves).
"""

from __future__ import annotations

from slm.spec import mapper as mp
from slm.spec import openslo_v1 as v1
from slm.spec import openslo_v1alpha as v1a
from slm.spec import openslo_v2alpha as v2
from slm.spec import pyrra, slm_v1, slo_generator, sloth
from slm.spec.registry import SLOTH_KIND, KindEntry

_S = "slm.spec."


def builtin_entries() -> list[KindEntry]:
    entries = [
        KindEntry(v1.API_VERSION, "Service", v1.Service, mp.map_v1_service, "service"),
        KindEntry(v1.API_VERSION, "DataSource", v1.DataSource, mp.map_v1_datasource, "datasource"),
        KindEntry(v1.API_VERSION, "SLI", v1.SLI, mp.map_v1_sli, "sli"),
        KindEntry(v1.API_VERSION, "SLO", v1.SLO, mp.map_v1_slo, "slo"),
        KindEntry(
            v1.API_VERSION,
            "AlertCondition",
            v1.AlertCondition,
            mp.map_v1_condition,
            "alert_condition",
        ),
        KindEntry(
            v1.API_VERSION,
            "AlertNotificationTarget",
            v1.AlertNotificationTarget,
            mp.map_v1_target,
            "notification_target",
        ),
        KindEntry(v1.API_VERSION, "AlertPolicy", v1.AlertPolicy, mp.map_v1_policy, "alert_policy"),
        KindEntry(v1a.API_VERSION, "Service", v1a.Service, mp.map_v1_service, "service"),
        KindEntry(v1a.API_VERSION, "SLO", v1a.SLO, mp.map_v1alpha_slo, "slo"),
        KindEntry(sloth.VERSION, SLOTH_KIND, sloth.Spec, mp.map_sloth_file, "slo"),
        KindEntry(
            sloth.K8S_API_VERSION,
            sloth.K8S_KIND,
            sloth.PrometheusServiceLevel,
            mp.map_sloth_k8s,
            "slo",
        ),
        KindEntry(pyrra.API_VERSION, pyrra.KIND, pyrra.ServiceLevelObjective, mp.map_pyrra, "slo"),
        KindEntry(
            slo_generator.API_VERSION,
            slo_generator.KIND,
            slo_generator.ServiceLevelObjective,
            mp.map_slo_generator,
            "slo",
        ),
        KindEntry(
            slo_generator.API_VERSION,
            slo_generator.CONFIG_KIND,
            slo_generator.Config,
            mp.map_slo_generator_config,
            "alert_policy",
        ),
        KindEntry(
            sloth.K8S_API_VERSION,
            sloth.WINDOWS_KIND,
            sloth.AlertWindows,
            mp.map_sloth_windows,
            "object",
        ),
        KindEntry(
            slm_v1.API_VERSION,
            "AlertWindowCatalogue",
            slm_v1.AlertWindowCatalogue,
            mp.map_catalogue,
            "object",
        ),
        *(
            KindEntry(slm_v1.API_VERSION, kind, _S + model, _S + mapper)
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
    for version in v2.API_VERSIONS:
        entries += [
            KindEntry(version, "Service", v2.Service, mp.map_v1_service, "service"),
            KindEntry(version, "DataSource", v2.DataSource, mp.map_v1_datasource, "datasource"),
            KindEntry(version, "SLI", v2.SLI, mp.map_v2_sli, "sli"),
            KindEntry(version, "SLO", v2.SLO, mp.map_v2_slo, "slo"),
            KindEntry(
                version, "AlertCondition", v2.AlertCondition, mp.map_v1_condition, "alert_condition"
            ),
            KindEntry(
                version,
                "AlertNotificationTarget",
                v2.AlertNotificationTarget,
                mp.map_v1_target,
                "notification_target",
            ),
            KindEntry(version, "AlertPolicy", v2.AlertPolicy, mp.map_v1_policy, "alert_policy"),
        ]
    return entries
