"""The built-in kinds: every accepted (apiVersion, kind) with its model and mapper."""

from __future__ import annotations

from slm.spec import agreements as agr
from slm.spec import components as cmp
from slm.spec import escalation as esc
from slm.spec import incident_rules as inc
from slm.spec import mapper as mp
from slm.spec import openslo_v1 as v1
from slm.spec import openslo_v1alpha as v1a
from slm.spec import openslo_v2alpha as v2
from slm.spec import probe as pr
from slm.spec import retention as ret
from slm.spec import slm_v1, sloth
from slm.spec.registry import SLOTH_KIND, KindEntry


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
        KindEntry(
            slm_v1.API_VERSION,
            "AlertWindowCatalogue",
            slm_v1.AlertWindowCatalogue,
            mp.map_catalogue,
            "object",
        ),
        KindEntry(slm_v1.API_VERSION, pr.KIND, pr.ProbeModel, pr.map_probe, "object"),
        KindEntry(slm_v1.API_VERSION, cmp.KIND, cmp.ComponentModel, cmp.map_component, "object"),
        KindEntry(slm_v1.API_VERSION, "RetentionPolicy", ret.RetentionPolicyModel, ret.map_policy),
        KindEntry(slm_v1.API_VERSION, "LegalHold", ret.LegalHoldModel, ret.map_hold),
        KindEntry(slm_v1.API_VERSION, inc.KIND, inc.IncidentPriorityPolicyModel, inc.map_policy),
        KindEntry(slm_v1.API_VERSION, "Agreement", agr.AgreementModel, agr.map_agreement),
        KindEntry(slm_v1.API_VERSION, "Calendar", agr.CalendarModel, agr.map_calendar),
        KindEntry(slm_v1.API_VERSION, "Exclusion", agr.ExclusionModel, agr.map_exclusion),
        KindEntry(
            slm_v1.API_VERSION, esc.CHANNEL_KIND, esc.NotificationChannelModel, esc.map_channel
        ),
        KindEntry(slm_v1.API_VERSION, esc.POLICY_KIND, esc.EscalationPolicyModel, esc.map_policy),
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
