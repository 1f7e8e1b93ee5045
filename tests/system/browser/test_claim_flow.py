"""End to end in Chromium: a visit's receipt becomes an insurance claim that is paid.

Three browser contexts, each with its own cookies: the technician's phone, the desk
(`page`) and the insurer. The incident is walked to a completed visit with the real
services (tests/scenes/claims.py); everything after that is done on the pages.
"""

import re
import struct
import zlib
from datetime import date

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Claim, Dispatch, Incident
from app.services.claims.packets import packet_path, verify_packet
from tests.scenes import claims as claim_scene
from tests.system.browser.conftest import watched_tab
from tests.system.browser.helpers import log_in

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips (or fails in CI) with the reason
    expect = None

pytestmark = pytest.mark.browser

claim_files = claim_scene.claim_files  # fixture: evidence, packets and signing key per test

RECEIPT_NAME = "receipt.png"
UNIT_PRICE = 30_000
QUESTION = "タクシー代の領収書の宛名を確認させてください。"
PAID_ON = date(2026, 12, 10)


def tiny_png():
    """A valid 1×1 white PNG (signature, IHDR, IDAT, IEND)."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\xff\xff")
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels)
            + chunk(b"IEND", b""))


@pytest.fixture
def scene(app, world, claim_files):
    """Org A's incident after a completed visit: ids and the holding technician's e-mail."""
    with app.app_context():
        incident_id, dispatch_id = claim_scene.visited_incident(world)
        held_by = db.session.get(Dispatch, dispatch_id).technician_id
        role = "technician" if held_by == world.technician else "other_technician"
        values = {"incident_id": incident_id, "dispatch_id": dispatch_id,
                  "technician": world.emails[role], "desk": world.emails["desk"],
                  "insurer": world.emails["insurer"],
                  "reference": db.session.get(Incident, incident_id).reference}
        db.session.remove()
    return values


@pytest.fixture
def phone(browser, live_server):
    """The technician's phone."""
    with watched_tab(browser, live_server, viewport={"width": 390, "height": 844},
                     is_mobile=True) as tab:
        yield tab


@pytest.fixture
def insurer_tab(browser, live_server):
    """The insurer's own browser."""
    with watched_tab(browser, live_server) as tab:
        yield tab


def press(page, trigger, state):
    """Press a desk trigger button; expect the incident's new state in the heading."""
    page.locator(f"form[data-trigger={trigger}] button").click()
    expect(page.locator(f"h1 span.state-{state}")).to_be_visible()


def insurer_acts(tab, action, state, **fields):
    """Submit one decision form of the insurer's claim page; expect the new state."""
    form = tab.locator(f"form.action[data-action={action}]")
    for name, value in fields.items():
        form.locator(f"[name={name}]").fill(value)
    form.locator("button[type=submit]").click()
    expect(tab.locator("p.flash.success")).to_be_visible()
    expect(tab.locator(f"h1 span.state-{state}")).to_be_visible()


def open_claim(tab, reference):
    """From the portal's list, follow the claim's reference link."""
    tab.goto("/insurer/")
    tab.locator("table.claims").get_by_role("link", name=reference, exact=True).click()
    expect(tab.locator("h1")).to_contain_text(reference)


def verify_in_portal(tab, reference, version):
    """Check a packet version in the portal (the result page has no decision forms)."""
    tab.locator(f"table.packets tr[data-packet='{version}'] form.verify button").click()
    result = tab.locator(f"div.verify-result[data-version='{version}']")
    expect(result).to_have_class(re.compile(r"\bok\b"))
    open_claim(tab, reference)


def stored(app, incident_id):
    """The incident's state, its claim's money and each packet's verification problems."""
    with app.app_context():
        incident = db.session.get(Incident, incident_id)
        claim = db.session.scalars(select(Claim).where(Claim.incident_id == incident_id)).one()
        values = {
            "state": incident.state, "claim_id": claim.id, "payable": claim.payable_amount,
            "approved": claim.approved_amount, "paid": (claim.paid_amount, claim.paid_on),
            "packets": [(p.version, verify_packet(packet_path(p))) for p in claim.packets],
            "lines": [(c.status, c.dispatch_id, [e.original_name for e in c.evidence])
                      for c in incident.cost_items],
        }
        db.session.remove()
    return values


def test_receipt_from_the_visit_is_claimed_queried_resubmitted_paid_and_closed(
        app, page, phone, insurer_tab, scene, tmp_path):
    incident_id, dispatch_id = scene["incident_id"], scene["dispatch_id"]

    # 1. The technician uploads a receipt photo and records its cost on the visit page.
    receipt = tmp_path / RECEIPT_NAME
    receipt.write_bytes(tiny_png())
    log_in(phone, scene["technician"], r"/tech/$")
    phone.goto(f"/tech/dispatches/{dispatch_id}")
    phone.locator("section#evidence details.fold > summary").click()  # folded until opened
    upload = phone.locator("section#evidence form.evidence-upload")
    upload.locator("input[name=file]").set_input_files(str(receipt))
    upload.locator("select[name=kind]").select_option("receipt")
    upload.locator("input[name=description]").fill("タクシー代")
    upload.locator("button[type=submit]").click()
    expect(phone.locator("p.flash.success")).to_be_visible()
    expect(phone.locator("section#evidence tr[data-evidence]")).to_contain_text(RECEIPT_NAME)

    phone.locator("section#costs details.fold > summary").click()
    cost = phone.locator("section#costs form.cost-form")
    cost.locator("select[name=head]").select_option("dispatch")
    cost.locator("input[name=description]").fill("駆付けタクシー代")
    cost.locator("input[name=quantity]").fill("1")
    cost.locator("input[name=unit_price]").fill(str(UNIT_PRICE))
    cost.locator("select[name=tax_rate]").select_option("10")
    cost.locator("input[name=incurred_on]").fill("2026-11-25")
    cost.locator("button[type=submit]").click()
    expect(phone.locator("p.flash.success")).to_be_visible()
    expect(phone.locator("section#costs li[data-cost-status=draft]")).to_contain_text(
        "駆付けタクシー代")

    # 2. The desk links the receipt to the line (the technician's form has no evidence
    #    field), approves it, prepares and submits the claim: packet version 1.
    log_in(page, scene["desk"])
    page.goto(f"/desk/incidents/{incident_id}")
    line = page.locator("section#costs table.cost-lines tr[data-cost]")
    expect(line).to_have_attribute("data-cost-status", "draft")
    line.locator("form.link-evidence select[name=evidence_id]").select_option(
        label=RECEIPT_NAME)
    line.locator("form.link-evidence button").click()
    expect(page.locator("p.flash.success")).to_be_visible()
    expect(line.locator("span.evidence-link")).to_have_text(RECEIPT_NAME)
    line.locator("button.approve").click()
    expect(line).to_have_attribute("data-cost-status", "approved")
    press(page, "prepare_claim", "claim_preparing")
    press(page, "submit_claim", "claim_submitted")
    claim_section = page.locator("section.claim")
    expect(claim_section.locator("table.packets tr[data-packet]")).to_have_count(1)
    expect(claim_section.locator("tr[data-packet='1']")).to_be_visible()
    payable = stored(app, incident_id)["payable"]
    assert payable > 0

    # 3. The insurer finds the claim, verifies version 1 and asks a question.
    log_in(insurer_tab, scene["insurer"], r"/insurer/$")
    open_claim(insurer_tab, scene["reference"])
    expect(insurer_tab.locator("dd.payable")).to_have_text(f"¥{payable:,}")
    verify_in_portal(insurer_tab, scene["reference"], 1)
    insurer_acts(insurer_tab, "request_info", "claim_info_requested", message=QUESTION)

    # 4. The desk sees the request and resubmits: packet version 2, version 1 kept.
    page.goto(f"/desk/incidents/{incident_id}")
    expect(page.locator("h1 span.state-claim_info_requested")).to_be_visible()
    press(page, "submit_claim", "claim_submitted")
    expect(claim_section.locator("table.packets tr[data-packet]")).to_have_count(2)
    expect(claim_section.locator("tr[data-packet='2']")).to_be_visible()

    # 5. The insurer verifies version 2, approves the payable amount and records payment.
    insurer_tab.reload()
    expect(insurer_tab.locator("h1 span.state-claim_submitted")).to_be_visible()
    expect(insurer_tab.locator("table.packets tr[data-packet]")).to_have_count(2)
    verify_in_portal(insurer_tab, scene["reference"], 2)
    insurer_acts(insurer_tab, "approve", "claim_approved", amount=str(payable))
    expect(insurer_tab.locator("dd.approved")).to_have_text(f"¥{payable:,}")
    insurer_acts(insurer_tab, "record_payment", "claim_paid", amount=str(payable),
                 paid_on=PAID_ON.isoformat())
    expect(insurer_tab.locator("dd.paid")).to_contain_text(f"¥{payable:,}")

    # The desk closes the settled incident.
    page.goto(f"/desk/incidents/{incident_id}")
    expect(page.locator("h1 span.state-claim_paid")).to_be_visible()
    press(page, "close", "closed")
    expect(page.locator("form[data-trigger]")).to_have_count(0)

    # The database agrees: closed, paid, two signed packet versions that both verify.
    values = stored(app, incident_id)
    assert values["state"] == "closed"
    assert values["approved"] == payable
    assert values["paid"] == (payable, PAID_ON)
    assert values["lines"] == [("approved", dispatch_id, [RECEIPT_NAME])]
    assert values["packets"] == [(1, []), (2, [])]
