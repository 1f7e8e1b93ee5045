"""Who may use each route: the table the isolation matrix (test_matrix.py) checks.

Every endpoint of `app.url_map` must be here (ROUTES) or excluded with a reason (EXCLUDED);
test_every_route_is_classified fails for a new route until it is. Adding one is one line:

    "blueprint.endpoint": Route(ROLES, body=lambda ids: {...}),

- roles: who the route is for. A staff role listed gets 200 on GET (writes by staff are
  covered by the feature tests and would change the shared data, so the matrix skips
  them). A tenant role listed (customer, technician, insurer) reaches its OWN objects
  here: the owner gets 200, a stranger the same 404 as for an object that does not exist.
  Anyone else logged in is refused (403/404). Nobody logged in: 401 (API) or the login page.
- body: a valid JSON body (API) or form (pages) for POST/PUT/PATCH, so a refusal comes from
  the access check and not from validation; `ids` maps parameter names to the other
  tenant's objects (or to ids that do not exist, for the comparison).
- query: the query string that names the object when the path does not (the reports pages);
  filter: a list's filter on the other tenant: a stranger gets the list, with none of it.
- public: no login needed (the report form, the login, the API documentation): only "no
  5xx and nothing of the other tenant's" is checked.
- ok: what a listed role gets for a GET when it is not a plain 200 (e.g. a redirect);
  refused: what any other logged-in role gets when it is not 403/404.
"""

import io
from dataclasses import dataclass

STAFF = ("desk", "dispatcher", "admin")
DISPATCHERS = ("dispatcher", "admin")
ADMIN = ("admin",)
CONSOLE = ("technician", "insurer", *STAFF)  # the desk console's audience
ANY = ("customer", *CONSOLE)
REPORT_READERS = ("customer", *STAFF)
TENANT_ROLES = ("customer", "technician", "insurer")

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


@dataclass(frozen=True)
class Route:
    """Who may use a route, and a valid body for its writes."""

    roles: tuple = ()
    body: object = None  # ids -> dict
    query: object = None  # ids -> dict: names the object in the query string (as a path would)
    filter: object = None  # ids -> dict: a list filtered on the other tenant (theirs: none)
    public: bool = False
    ok: tuple = (200,)
    refused: tuple = (403, 404)


def upload(ids):
    """A multipart evidence upload (a fresh stream for every request)."""
    return {"file": (io.BytesIO(PNG), "isolation.png"), "kind": "photo",
            "description": "isolation"}


def their_organization(ids):
    return {"organization_id": ids["organization_id"]}


def cost_form(ids):
    return {"head": "dispatch", "description": "isolation", "quantity": "1",
            "unit_price": "1000", "tax_rate": "10", "incurred_on": "2026-11-25"}


def cost_json(ids):
    return {"head": "dispatch", "description": "isolation", "quantity": "1",
            "unit_price": 1000, "tax_rate": 10, "incurred_on": "2026-11-25"}


def policy_json(ids):
    return {"number": "POL-ISOLATION", "insurer_id": ids["insurer_id"],
            "organization_id": ids["organization_id"], "starts_on": "2026-01-01",
            "ends_on": "2026-12-31", "per_incident_limit": 1, "annual_aggregate": 1}


def policy_form(ids):
    return {**policy_json(ids), "deductible": "0"}


def technician_form(ids):
    return {"name": "isolation", "phone": "+819000000000", "prefectures": "13",
            "skills": "malware", "hourly_rate": "1", "locale": "ja"}


def organization_form(ids):
    return {"code": "ISO-ORG", "name": "isolation", "prefecture": "13", "employees": "0"}


def contract_form(ids):
    return {"plan": "network", "service_class": "1", "devices": "1", "monthly_fee": "1",
            "starts_on": "2026-01-01", "desk_hours": "24h", "sla_first_response_minutes": "30",
            "sla_onsite_minutes": "60", "policy_id": ""}


ROUTES = {
    # ---------------------------------------------------------------- public pages
    "public.home": Route(public=True),
    "public.report": Route(public=True, body=lambda ids: {}),
    "public.login": Route(public=True, body=lambda ids: {}),
    "public.set_language": Route(public=True),
    # The SMS link's signed token is the credential: a forged one is refused for everyone.
    "technician.link": Route(public=True),
    "technician.link_accept": Route(public=True, body=lambda ids: {}),
    "technician.link_decline": Route(public=True, body=lambda ids: {"reason": "x"}),
    "openapi.openapi": Route(public=True),
    "openapi.doc_url": Route(public=True),
    "swagger.swagger": Route(public=True),
    "swagger.oauth2-redirect": Route(public=True),
    # ---------------------------------------------------------------- desk console
    "desk.incidents": Route(CONSOLE, filter=lambda ids: {
        "organization_id": ids["organization_id"]}),
    "desk.incident": Route(CONSOLE),
    "desk.transition": Route(CONSOLE, body=lambda ids: {"trigger": "cancel", "reason": "x",
                                                        "version": "1"}),
    "desk.note": Route(CONSOLE, body=lambda ids: {"note": "isolation"}),
    "desk.check": Route(CONSOLE, body=lambda ids: {"item": "isolate", "checked": "y"}),
    "desk.add_cost": Route(CONSOLE, body=cost_form),
    "desk.upload_evidence": Route(CONSOLE, body=upload),
    "desk.evidence_file": Route(CONSOLE),
    "desk.open_evidence_file": Route(CONSOLE, body=lambda ids: {}),
    "desk.approve_cost": Route(CONSOLE, body=lambda ids: {}),
    "desk.reject_cost": Route(CONSOLE, body=lambda ids: {}),
    "desk.link_cost_evidence": Route(CONSOLE, body=lambda ids: {
        "evidence_id": ids["evidence_id"]}),
    "desk.labour": Route(CONSOLE, body=lambda ids: {}),
    # The console's other roles are sent back to the incident list.
    "desk.leak_mark": Route(STAFF, body=lambda ids: {"version": "1"}),
    "desk.leak_report": Route(STAFF, body=lambda ids: {
        "version": "1", "kind": "preliminary", "reported_at": "2026-11-25T10:00"}),
    "desk.leak_unmark": Route(STAFF, body=lambda ids: {"version": "1"}),
    # issue 13: corrections, links, voicemail (staff; a customer corrects through the API)
    "desk.correct": Route(STAFF, body=lambda ids: {
        "version": "1", "category": "malware", "severity": "high", "summary": "isolation",
        "discovered_at": "2026-11-25T10:00", "discovery_source": "user"}),
    "desk.add_link": Route(STAFF, body=lambda ids: {"reference": "INC-2026-000001",
                                                    "kind": "related"}),
    "desk.assign": Route(STAFF, refused=(302, 403, 404), body=lambda ids: {
        "organization_id": ids["organization_id"]}),
    "desk.alerts": Route(STAFF, filter=their_organization),
    "desk.refused_alerts": Route(STAFF),
    "desk.reply_mail": Route(STAFF, body=lambda ids: {"text": "isolation"}),
    "desk.mail_list": Route(STAFF),
    "desk.assign_mail": Route(STAFF, body=lambda ids: {
        "organization_id": ids["organization_id"]}),
    "desk.attach_mail": Route(STAFF, body=lambda ids: {"incident_id": ids["incident_id"]}),
    "desk.discard_mail": Route(STAFF, body=lambda ids: {"reason": "spam"}),
    "desk.phone_intake": Route(STAFF, refused=(302, 403), body=lambda ids: {
        "caller_phone": "+81300000000", "reporter_name": "x", "category": "malware",
        "severity": "high", "summary": "isolation", "organization_id": ids["organization_id"]}),
    "desk.live_calls_fragment": Route(STAFF),  # the screen pop: staff only
    # ---------------------------------------------------------------- dispatcher's board
    "dispatch.board": Route(DISPATCHERS),
    "dispatch.override_technician": Route(DISPATCHERS, body=lambda ids: {
        "technician_id": ids["technician_id"], "reason": "x"}),
    "dispatch.reoffer_incident": Route(DISPATCHERS, body=lambda ids: {}),
    # the scene's incident waits for no technician: back to the board with a message
    "dispatch.choose_technician": Route(DISPATCHERS, ok=(302,)),
    "dispatch.cancel": Route(DISPATCHERS, body=lambda ids: {"reason": "x"}),
    # ---------------------------------------------------------------- technician's phone
    "technician.home": Route(("technician",)),
    "technician.dispatch": Route(("technician",)),
    "technician.step": Route(("technician",), body=lambda ids: {}),
    "technician.add_cost": Route(("technician",), body=cost_form),
    "technician.upload_evidence": Route(("technician",), body=upload),
    "technician.labour": Route(("technician",), body=lambda ids: {}),
    # ---------------------------------------------------------------- customer's pages
    "customer.incident": Route(("customer",)),
    "customer.add_note": Route(("customer",), body=lambda ids: {"note": "isolation"}),
    "customer.upload_evidence": Route(("customer",), body=upload),
    "customer.sign_off": Route(("customer",), body=lambda ids: {"comment": "isolation"}),
    "customer.correct_details": Route(("customer",),
                                      body=lambda ids: {"description": "isolation", "version": 1}),
    # ---------------------------------------------------------------- insurer's portal
    "insurer.home": Route(("insurer", "admin")),
    "insurer.claim": Route(("insurer", "admin")),
    "insurer.policy": Route(("insurer", "admin")),
    "insurer.packet": Route(("insurer", "admin")),
    "insurer.verify": Route(("insurer", "admin"), body=lambda ids: {}),
    "insurer.act": Route(("insurer", "admin"), body=lambda ids: {"action": "acknowledge"}),
    # ---------------------------------------------------------------- administration
    "admin.home": Route(DISPATCHERS, ok=(302,)),  # to the technicians
    "admin.technicians": Route(DISPATCHERS),
    "admin.new_technician": Route(DISPATCHERS, body=technician_form),
    "admin.edit_technician": Route(DISPATCHERS, body=technician_form),
    "admin.shifts": Route(DISPATCHERS),
    "admin.add_shift": Route(DISPATCHERS, body=lambda ids: {
        "starts_at": "2026-12-01T09:00", "ends_at": "2026-12-01T18:00"}),
    "admin.delete_shift": Route(DISPATCHERS, body=lambda ids: {}),
    "admin.contract_organizations": Route(DISPATCHERS),
    "admin.contracts": Route(DISPATCHERS),
    "admin.new_contract": Route(ADMIN, body=contract_form),
    "admin.edit_contract": Route(ADMIN, body=contract_form),
    "admin.admin_changes": Route(ADMIN),
    "admin.insurers": Route(ADMIN),
    "admin.add_insurer": Route(ADMIN, body=lambda ids: {"code": "ISO-1", "name": "x"}),
    "admin.insurer": Route(ADMIN),
    "admin.save_insurer": Route(ADMIN, body=lambda ids: {"code": "ISO-2", "name": "x"}),
    "admin.rotate_insurer_secret": Route(ADMIN, body=lambda ids: {}),
    "admin.add_insurer_user": Route(ADMIN, body=lambda ids: {
        "email": "iso@test.example", "name": "x", "password": "isolation-password"}),
    "admin.ingest_keys": Route(ADMIN),
    "admin.mail_domains": Route(ADMIN),
    "admin.add_mail_domain": Route(ADMIN, body=lambda ids: {"domain": "isolation.example.jp"}),
    "admin.remove_mail_domain": Route(ADMIN, body=lambda ids: {}),
    "admin.create_ingest_key": Route(ADMIN, body=lambda ids: {}),
    "admin.revoke_ingest_key": Route(ADMIN, body=lambda ids: {"confirm": "y"}),
    "admin.add_ingest_sender": Route(ADMIN, body=lambda ids: {"network": "192.0.2.77"}),
    "admin.remove_ingest_sender": Route(ADMIN, body=lambda ids: {"sender_id": "1"}),
    "admin.set_ingest_key_sensor": Route(ADMIN, body=lambda ids: {"sensor": "iso"}),
    "admin.set_ingest_key_certificate": Route(ADMIN, body=lambda ids: {
        "cert_fingerprint": "ab" * 32}),
    "admin.tokens_list": Route(ADMIN),
    "admin.revoke_token": Route(ADMIN, body=lambda ids: {"confirm": "y"}),
    "admin.users_list": Route(ADMIN),
    "admin.deactivate_user": Route(ADMIN, body=lambda ids: {"confirm": "y"}),
    "admin.organizations": Route(ADMIN),
    "admin.new_organization": Route(ADMIN, body=organization_form),
    "admin.organization": Route(ADMIN, body=organization_form),
    "admin.add_organization_phone": Route(ADMIN, body=lambda ids: {"phone": "+81300000001"}),
    "admin.remove_organization_phone": Route(ADMIN, body=lambda ids: {"phone_id": "1"}),
    "admin.policies": Route(ADMIN),
    "admin.add_head": Route(ADMIN, body=lambda ids: {"code": "iso", "name_ja": "x",
                                                     "name_en": "x"}),
    "admin.new_policy": Route(ADMIN, body=policy_form),
    "admin.policy": Route(ADMIN),
    "admin.save_policy": Route(ADMIN, body=lambda ids: {
        "per_incident_limit": "1", "annual_aggregate": "1", "deductible": "0"}),
    "admin.edit_policy": Route(ADMIN, body=policy_form),
    # ---------------------------------------------------------------- monthly reports
    "reports.index": Route(REPORT_READERS, filter=their_organization),
    "reports.report": Route(REPORT_READERS, query=their_organization),
    "reports.pdf": Route(REPORT_READERS, query=their_organization),
    "reports.build": Route(STAFF, body=lambda ids: {
        "organization_id": ids["organization_id"], "month": "2026-11"}),
    # ---------------------------------------------------------------- provider dashboard
    "dashboard.index": Route(STAFF),
    "dashboard.incidents": Route(STAFF, filter=lambda ids: {"metric": "received"}),
    "dashboard.liaison_page": Route(STAFF),
    "dashboard.liaison_export": Route(STAFF),
    # ---------------------------------------------------------------- development phone
    "devtools.phone": Route(STAFF),
    # ---------------------------------------------------------------- API: incidents
    "api.list_incidents_endpoint": Route(ANY, filter=lambda ids: {
        "organization_id": ids["organization_id"]}),
    "api.create_incident": Route(("customer", *STAFF), body=lambda ids: {
        "organization_id": ids["organization_id"], "channel": "web", "category": "malware",
        "summary": "isolation"}),
    "api.get_incident": Route(ANY),
    "api.send_message": Route(STAFF, body=lambda ids: {"text": "isolation"}),
    "api.list_unmatched": Route(STAFF),
    "api.assign_mail": Route(STAFF, body=lambda ids: {
        "organization_id": ids["organization_id"]}),
    "api.attach_mail": Route(STAFF, body=lambda ids: {"incident_id": ids["incident_id"]}),
    "api.discard_mail": Route(STAFF, body=lambda ids: {"reason": "spam"}),
    "api.transition_incident": Route(ANY, body=lambda ids: {"trigger": "cancel",
                                                            "reason": "x"}),
    "api.create_note": Route(ANY, body=lambda ids: {"note": "isolation"}),
    "api.create_triage_check": Route(STAFF, body=lambda ids: {"item": "isolate"}),
    "api.correct_incident_endpoint": Route(("customer", *STAFF), body=lambda ids: {
        "version": 1, "description": "isolation"}),
    "api.create_link": Route(STAFF, body=lambda ids: {"incident_id": ids["incident_id"],
                                                      "kind": "related"}),
    "api.list_organizations": Route(ANY),
    "api.get_organization": Route(ANY),  # as the list: staff all, the others through incidents
    "api.create_organization": Route(ADMIN, body=lambda ids: {
        "code": "ISO-ORG", "name": "x", "prefecture": 13}),
    "api.update_organization": Route(ADMIN, body=lambda ids: {"name": "x"}),
    "api.list_alerts_endpoint": Route(("customer", *STAFF), filter=their_organization),
    "api.get_alert": Route(("customer", *STAFF)),  # as the list: staff all, a customer its own
    "api.put_alert_policy": Route(ADMIN, body=lambda ids: {"alert_policy": None}),
    "api.mark_personal_data_leak": Route(STAFF, body=lambda ids: {"malicious": False}),
    "api.unmark_personal_data_leak": Route(STAFF),
    "api.create_leak_report": Route(STAFF, body=lambda ids: {
        "kind": "preliminary", "reported_at": "2026-11-25T10:00:00+09:00"}),
    # ---------------------------------------------------------------- API: dispatch
    "api.list_candidates": Route(DISPATCHERS),
    "api.list_incident_dispatches": Route(ANY),
    "api.override_dispatch": Route(DISPATCHERS, body=lambda ids: {
        "technician_id": ids["technician_id"]}),
    "api.reoffer_dispatch": Route(DISPATCHERS, body=lambda ids: {}),
    "api.list_open_dispatches": Route(("technician", *STAFF)),
    "api.get_dispatch": Route(ANY),
    "api.transition_dispatch": Route(("technician", *DISPATCHERS), body=lambda ids: {
        "trigger": "depart"}),
    "api.sign_off_dispatch": Route(("customer",), body=lambda ids: {"comment": "isolation"}),
    # ---------------------------------------------------------------- API: costs, evidence
    "api.list_costs": Route(ANY),
    "api.add_cost": Route(("technician", *STAFF), body=cost_json),
    "api.get_cost": Route(ANY),
    "api.update_cost": Route(("technician", *STAFF), body=lambda ids: {"description": "x"}),
    "api.approve_cost": Route(STAFF, body=lambda ids: {}),
    "api.reject_cost": Route(STAFF, body=lambda ids: {}),
    "api.link_cost_evidence": Route(("technician", *STAFF), body=lambda ids: {
        "evidence_ids": [ids["evidence_id"]]}),
    "api.add_labour": Route(("technician", *STAFF), body=lambda ids: {}),
    "api.list_heads": Route(ANY),
    "api.create_head": Route(ADMIN, body=lambda ids: {"code": "iso", "name_ja": "x",
                                                      "name_en": "x"}),
    "api.upload_evidence": Route(("customer", "technician", *STAFF), body=upload),
    "api.list_incident_evidence": Route(ANY),
    "api.get_evidence": Route(ANY),
    "api.download_evidence": Route(ANY),
    # ---------------------------------------------------------------- API: claims
    "api.list_claims": Route(ANY),
    "api.get_claim": Route(("insurer", *STAFF)),
    "api.download_latest_packet": Route(("insurer", *STAFF)),
    "api.download_packet": Route(("insurer", *STAFF)),
    "api.verify_claim": Route(("insurer", *STAFF), body=lambda ids: {"version": 1}),
    "api.act_on_claim": Route(("insurer", "admin"), body=lambda ids: {"action": "acknowledge"}),
    # ---------------------------------------------------------------- API: reports, statistics
    "api.list_monthly_reports": Route(REPORT_READERS, filter=their_organization),
    "api.get_monthly_report": Route(REPORT_READERS),
    "api.download_monthly_report": Route(REPORT_READERS),
    "api.dashboard_stats": Route(STAFF),
    "api.liaison_stats": Route(STAFF),
    # ---------------------------------------------------------------- API: administration
    "api.list_contracts": Route(STAFF),
    "api.create_contract": Route(ADMIN, body=lambda ids: {
        "plan": "network", "monthly_fee": 1, "starts_on": "2026-01-01"}),
    "api.get_contract": Route(STAFF),
    "api.update_contract": Route(ADMIN, body=lambda ids: {"devices": 2}),
    "api.list_policies": Route(ADMIN),
    "api.create_policy": Route(ADMIN, body=policy_json),
    "api.get_policy": Route(ADMIN),
    "api.update_policy": Route(ADMIN, body=lambda ids: {"deductible": 1}),
    "api.get_policy_terms": Route((*STAFF, "insurer")),
    "api.set_policy_terms": Route(ADMIN, body=lambda ids: {
        "per_incident_limit": 1, "annual_aggregate": 1, "deductible": 0, "heads": {}}),
    "api.list_insurers": Route(ADMIN),
    "api.create_insurer": Route(ADMIN, body=lambda ids: {"code": "ISO-1", "name": "x"}),
    "api.get_insurer": Route(ADMIN),
    "api.update_insurer": Route(ADMIN, body=lambda ids: {"name": "x"}),
    "api.rotate_secret": Route(ADMIN, body=lambda ids: {}),
    "api.list_insurer_users": Route(ADMIN),
    "api.create_insurer_user": Route(ADMIN, body=lambda ids: {
        "email": "iso@test.example", "name": "x", "password": "isolation-password"}),
    "api.list_technicians": Route(STAFF),
    "api.list_admin_changes": Route(ADMIN),
    "api.create_technician": Route(DISPATCHERS, body=lambda ids: {
        "name": "isolation", "phone": "+819000000000"}),
    "api.get_technician": Route(STAFF),
    "api.update_technician": Route(DISPATCHERS, body=lambda ids: {"name": "x"}),
    "api.list_shifts": Route(STAFF),
    "api.create_shift": Route(DISPATCHERS, body=lambda ids: {
        "starts_at": "2026-12-01T00:00:00Z", "ends_at": "2026-12-01T09:00:00Z"}),
    "api.delete_shift": Route(DISPATCHERS),
}

EXCLUDED = {
    "static": "files of the site itself, no tenant data",
    "openapi.static": "files of the API documentation page, no tenant data",
    "swagger.static": "files of the API documentation page, no tenant data",
    "api.ingest_alerts": "authenticated by the organization's ingest key, not a user: a user "
                         "token is refused (tests/services/monitoring/test_ingest.py)",
    "public.logout": "ends the session and touches no tenant data (tests/web/pages/test_pages.py)",
    "api.revoke_current_token": "revokes the caller's own token, no tenant data "
                                "(tests/web/api/test_tokens_api.py)",
    **{f"webhooks.{name}": "signed by Twilio (X-Twilio-Signature), not a user session: "
                           "tests/web/webhooks/test_signatures.py"
       for name in ("recording", "recording_unregistered", "sms_status", "voice_status",
                    "voice_incoming", "voice_incoming_dialled", "voice_incoming_recorded",
                    "voice_incoming_status", "voice_message",
                    "voice_offer", "voice_offer_answer")},
}

# Path parameters naming an object of the other tenant (scene.seed() "ids").
OBJECT_PARAMS = ("incident_id", "dispatch_id", "cost_id", "evidence_id", "claim_id",
                 "contract_id", "policy_id", "organization_id", "insurer_id", "technician_id",
                 "shift_id", "alert_id", "report_id", "key_id")
# Other path parameters and the value the matrix sends.
FIXED_PARAMS = {"version": 1, "token": "forged-link-token", "trigger": "depart", "code": "ja",
                "month": "2026-11", "token_id": 1, "user_id": 1, "voicemail_id": 1,
                "mail_id": 1, "domain_id": 1}
MISSING_ID = 999_999
