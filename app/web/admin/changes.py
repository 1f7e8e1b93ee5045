"""The administrative change log page (admins): newest first, by kind, a page at a time."""

from flask import render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.services import admin_log
from app.web.admin import bp
from app.web.admin.change_text import field_label, value_text

KIND_LABELS = {
    "organization": _l("Organization"), "organization_phone": _l("Organization phone"),
    "contract": _l("Contract"), "insurer": _l("Insurer"), "policy": _l("Policy"),
    "coverage_head": _l("Coverage head"), "user": _l("User"), "api_token": _l("API token"),
    "technician": _l("Technician"),
    "shift": _l("On-call shift"), "ingest_key": _l("Ingest key"),
}
ACTION_LABELS = {"created": _l("Created"), "updated": _l("Updated"), "deleted": _l("Deleted")}


def differences(change):
    """(field, before, after) for each field the change set, changed or removed."""
    before, after = change.before or {}, change.after or {}
    return [(name, before.get(name), after.get(name)) for name in sorted(before.keys()
            | after.keys()) if before.get(name) != after.get(name)]


@bp.get("/changes")
def admin_changes():
    """Who changed what in the administration, newest first (filter ?kind=)."""
    kind = request.args.get("kind") or None
    page = admin_log.change_page(current_user, kind=kind, cursor=request.args.get("cursor"))
    return render_template("admin/changes.html", page=page, kind=kind, kinds=KIND_LABELS,
                           actions=ACTION_LABELS, differences=differences,
                           field_label=field_label, value_text=value_text)
