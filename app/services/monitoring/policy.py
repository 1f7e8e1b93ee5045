"""An organization's alert policy: which new alerts open an incident (severities), which
are noise (rule groups, levels) and how Wazuh levels map to severities. Read from its
contract active on the batch's Japan date; the defaults where it says nothing.
"""

from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from app.domain.alerts.severity import WAZUH_LEVELS
from app.domain.timeutil import to_jst
from app.extensions import db
from app.models import Contract

# Non-security noise kept out of incidents unless a contract says otherwise: Wazuh's
# configuration assessment (sca) and rootcheck's policy audits (policy_monitoring), and
# Windows application errors (windows_application). Still stored and counted in reports.
DEFAULT_EXCLUDED_GROUPS = ("sca", "policy_monitoring", "windows_application")


@dataclass(frozen=True)
class AlertPolicy:
    """What the ingest applies to one organization's batch."""

    severities: tuple  # of new alerts that open an incident
    exclude_groups: tuple = DEFAULT_EXCLUDED_GROUPS
    exclude_levels: tuple = ()
    wazuh_levels: dict = field(default_factory=dict)  # {"9": "medium"}: overrides

    def severity_of(self, alert):
        """The alert's severity after the contract's Wazuh level overrides."""
        if alert.source == "wazuh" and alert.level is not None:
            return self.wazuh_levels.get(str(alert.level)) or WAZUH_LEVELS[alert.level]
        return alert.severity

    def excluded(self, alert):
        """True for noise: a rule group or a level the policy excludes."""
        return bool(set(alert.groups) & set(self.exclude_groups)) or (
            alert.level is not None and alert.level in self.exclude_levels)

    def opens_incident(self, alert, severity):
        return severity in self.severities and not self.excluded(alert)


def active_contract(organization_id, now):
    """The organization's contract active on now's Japan date (the latest start first)."""
    today = to_jst(now).date()
    contracts = db.session.scalars(select(Contract).where(
        Contract.organization_id == organization_id)
        .order_by(Contract.starts_on.desc(), Contract.id.desc())).all()
    return next((c for c in contracts if c.active_on(today)), None)


def alert_policy(organization_id, now):
    """The policy of the organization's active contract, the defaults for what it leaves
    unset (or without a contract)."""
    contract = active_contract(organization_id, now)
    severities = None if contract is None else contract.alert_incident_severities
    if severities is None:
        severities = current_app.config["ALERT_INCIDENT_SEVERITIES"]
    stored = (contract.alert_policy if contract is not None else None) or {}
    return AlertPolicy(
        severities=tuple(severities),
        exclude_groups=tuple(stored.get("exclude_groups", DEFAULT_EXCLUDED_GROUPS)),
        exclude_levels=tuple(stored.get("exclude_levels", ())),
        wazuh_levels=dict(stored.get("wazuh_levels", {})))


def incident_severities(organization_id, now):
    """The severities whose new alerts open an incident (the contract's, else
    ALERT_INCIDENT_SEVERITIES)."""
    return alert_policy(organization_id, now).severities
