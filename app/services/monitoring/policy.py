"""An organization's alert policy: which new alerts open an incident (severities), which
are noise (rule groups, levels) and how Wazuh levels map to severities. Read from its
contract active on the batch's Japan date; the defaults where it says nothing.
"""

from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from app import access
from app.domain.alerts.normalized import SEVERITIES
from app.domain.alerts.severity import WAZUH_LEVELS, wazuh_severity
from app.domain.safetext import unsafe
from app.domain.timeutil import to_jst
from app.errors import InvalidInput
from app.extensions import db
from app.models import Contract
from app.services import admin_log
from app.services.directory import contracts

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
            return wazuh_severity(alert.level, self.wazuh_levels)
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


POLICY_KEYS = ("exclude_groups", "exclude_levels", "wazuh_levels")
MAX_GROUPS = 100


def set_alert_policy(actor, contract_id, policy, now=None):
    """Set a contract's alert policy (None: back to the defaults); admins only, logged."""
    access.require(actor, "contracts.manage")
    contract = contracts.get_contract(actor, contract_id)
    cleaned = clean_alert_policy(policy)
    before = admin_log.snapshot(contract)
    contract.alert_policy = cleaned
    admin_log.record(actor, "contract", "updated", contract, before, now=now)
    db.session.commit()
    return contract


def clean_alert_policy(policy):
    """The policy as stored: None, or an object with only the known keys, each checked."""
    if policy is None:
        return None
    if not isinstance(policy, dict) or set(policy) - set(POLICY_KEYS):
        raise _refuse("alert_policy", f"The alert policy is null or an object of "
                      f"{', '.join(POLICY_KEYS)}.")
    cleaned = {}
    if "exclude_groups" in policy:
        cleaned["exclude_groups"] = _groups(policy["exclude_groups"])
    if "exclude_levels" in policy:
        cleaned["exclude_levels"] = sorted({_level(v, "exclude_levels")
                                            for v in _list(policy["exclude_levels"],
                                                           "exclude_levels")})
    if "wazuh_levels" in policy:
        cleaned["wazuh_levels"] = _level_map(policy["wazuh_levels"])
    return cleaned


def _refuse(field, message):
    return InvalidInput(message, {"field": field})


def _list(value, field):
    if not isinstance(value, list) or len(value) > MAX_GROUPS:
        raise _refuse(field, f"{field} is a list of at most {MAX_GROUPS} items.")
    return value


def _groups(value):
    groups = _list(value, "exclude_groups")
    if not all(isinstance(g, str) and 0 < len(g.strip()) <= 64 and not unsafe(g)
               for g in groups):
        raise _refuse("exclude_groups", "exclude_groups holds rule group names (1-64 "
                      "characters).")
    return sorted({g.strip() for g in groups})


def _level(value, field):
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value not in WAZUH_LEVELS:
        raise _refuse(field, f"{field} holds Wazuh levels 0-16.")
    return value


def _level_map(value):
    if not isinstance(value, dict):
        raise _refuse("wazuh_levels", "wazuh_levels is an object of level: severity.")
    if not all(severity in SEVERITIES for severity in value.values()):
        raise _refuse("wazuh_levels", f"wazuh_levels maps levels to {', '.join(SEVERITIES)}.")
    levels = {_level(level, "wazuh_levels"): severity for level, severity in value.items()}
    return {str(level): levels[level] for level in sorted(levels)}
