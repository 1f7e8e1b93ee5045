"""Timeline events read as sentences (app/domain/timeline.py): every kind the application
writes and every trigger has its wording, parameters are shown in words, and what the
table does not know still reads as a sentence, never as a code."""

import re
from datetime import datetime
from pathlib import Path

import pytest

from app.domain.timeline import (
    GENERIC,
    SENTENCES,
    VALUES,
    actor,
    shared_with_insurer,
    tell,
    tells_the_story,
    when,
)
from workflows.incident import TRIGGERS

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
CODE = re.compile(r"(?<![A-Za-z0-9_])[a-z]+_[a-z_]+(?![A-Za-z0-9_])")


class Names:
    def technician(self, technician_id):
        return {1: "山田 太郎"}.get(technician_id)

    def head(self, code):
        return {"investigation": "Investigation"}.get(code)


def written_kinds():
    """The event kinds the application's code appends (append_event(..., kind="...")."""
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "app").rglob("*.py"))
    return set(re.findall(r'append_event\([^)]*?kind="(\w+)"', source, re.S))


def test_every_kind_the_application_writes_has_its_wording():
    kinds = written_kinds()
    assert {"intake", "transition", "note", "triage_check", "dispatch", "cost", "evidence",
            "claim", "leak"} <= kinds
    assert not {k for k in kinds if not any(kind == k for kind, _ in SENTENCES)}


def test_every_incident_trigger_has_its_own_sentence():
    assert not [t for t in TRIGGERS if ("transition", t) not in SENTENCES]


def test_every_wording_uses_only_known_values():
    unknown = {(key, name) for key, text in SENTENCES.items()
               for name in PLACEHOLDER.findall(str(text)) if name not in VALUES}
    assert not unknown


@pytest.mark.parametrize("event, expected", [
    ({"kind": "dispatch", "data": {"action": "offered", "technician_id": 1}},
     "Offered the visit to technician 山田 太郎"),
    ({"kind": "transition", "trigger": "assign_technician", "data": {"technician_id": 1}},
     "Technician 山田 太郎 accepted the dispatch"),
    ({"kind": "cost", "data": {"action": "approved", "cost_id": 7, "head": "investigation",
                               "amount": 357000}},
     "Approved Investigation (line #7, ¥357,000 excl. tax)"),
    ({"kind": "cost", "data": {"action": "evidence_linked", "cost_id": 7,
                               "evidence_ids": [3, 4]}},
     "Linked evidence #3, #4 to cost line #7"),
    ({"kind": "transition", "trigger": "record_payment",
      "data": {"amount": 357000, "paid_on": "2026-12-26"}},
     "The insurer paid ¥357,000 on 2026-12-26"),
    ({"kind": "leak", "data": {"action": "preliminary_reported",
                               "reported_at": "2026-12-06T04:40:26.795104Z"}},
     "Recorded the preliminary report to the commission, made 2026-12-06 13:40 JST"),
    ({"kind": "triage_check", "data": {"item": "isolate", "checked": True}},
     "Checked: Told the customer to disconnect affected devices from the network "
     "(unplug the LAN cable, turn Wi-Fi off)"),
    ({"kind": "claim", "data": {"action": "acknowledged", "claim_id": 1}},
     "The insurer acknowledged receipt of the claim"),
    ({"kind": "evidence", "data": {"action": "upload", "kind": "photo"}},
     "Uploaded evidence: Photo"),
])
def test_an_event_reads_with_its_parameters_in_words(event, expected):
    assert tell(event, Names()).text == expected


def test_free_text_parameters_are_labelled_details_never_raw_keys():
    told = tell({"kind": "transition", "trigger": "complete_onsite",
                 "data": {"work_report": "隔離した", "via": "SMS link"}}, Names())
    assert told.details == [("Work report", "隔離した"), ("Answered", "via the SMS link")]
    assert "work_report" not in told.text


@pytest.mark.parametrize("event", [
    {"kind": "something_new", "data": {"action": "done_it"}},
    {"kind": "cost", "data": {"action": "corrected_by_admin", "cost_id": 2}},
    {"kind": "transition", "trigger": "fly_away", "from_state": "x_y", "to_state": "on_site"},
    {"kind": "dispatch", "data": {"action": "offered"}},  # no technician recorded
    {"kind": "cost", "data": {"action": "approved"}},  # no head, no amount
])
def test_what_the_table_does_not_know_still_reads_as_words(event):
    text = tell(event).text
    assert text and not CODE.search(text), text


def test_an_unknown_kind_falls_back_to_the_generic_sentence():
    assert tell({"kind": "something_new"}).text == str(GENERIC)


def test_times_are_japan_time_from_stored_or_iso_values():
    assert when(datetime(2026, 12, 6, 4, 40, 26, 795104)) == "2026-12-06 13:40 JST"
    assert when("2026-12-06T04:40:26.795104Z") == "2026-12-06 13:40 JST"
    assert when(None) == ""


def test_fixed_actor_labels_read_as_words():
    assert actor("system") == "System"
    assert actor("佐藤 健 (SMS link)") == "佐藤 健 (via the SMS link)"
    assert actor("desk@demo.example") == "desk@demo.example"


def test_only_shared_notes_reach_the_insurer_and_its_story():
    shared = {"kind": "note", "note": "x", "data": {"shared_with_insurer": True}}
    kept = {"kind": "note", "note": "y"}
    assert shared_with_insurer(shared) and not shared_with_insurer(kept)
    assert tells_the_story(shared) and not tells_the_story(kept)
    assert tells_the_story({"kind": "triage_check", "data": {"item": "isolate"}})
    assert not tells_the_story({"kind": "dispatch", "data": {"action": "sms_sent"}})
