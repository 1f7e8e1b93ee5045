"""Claim packets: build, verify, tamper evidence, the Japanese PDF, bounded memory, the CLI."""

import base64
import gc
import hashlib
import io
import json
import os
import stat
import tracemalloc
import zipfile
from datetime import date, datetime

import jsonschema
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pypdf import PdfReader

from app.config import BASE_DIR
from app.extensions import db
from app.models import Claim, ClaimPacket, CustodyEntry, User
from app.services.claims import costs, evidence, packet_data, packets
from app.testkit import factories

NOW = datetime(2026, 3, 2, 1, 30)  # 10:30 JST
SCHEMA = json.loads((BASE_DIR / "docs" / "claim-packet.schema.json").read_text("utf-8"))
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8
LOG = "2026-03-01 09:00:00 不審な通信を検知 <script>alert(1)</script> & more\n".encode() * 30


def raw_key():
    """A fresh Ed25519 private key as CLAIM_SIGNING_KEY wants it (base64 of 32 raw bytes)."""
    raw = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
        serialization.NoEncryption())
    return base64.b64encode(raw).decode()


@pytest.fixture
def setup(app, tmp_path, monkeypatch):
    """Evidence in the test's own folder, a signing key of the test's own."""
    monkeypatch.setitem(app.config, "EVIDENCE_DIR", str(tmp_path / "evidence"))
    monkeypatch.setitem(app.config, "CLAIM_SIGNING_KEY", raw_key())
    return tmp_path


def make_claim(world, files=(("receipt", "領収書.jpg", JPEG), ("log", "fw (1).log", LOG))):
    """An on-site incident of org A with approved, evidenced cost lines and a claim."""
    desk = db.session.get(User, world.users["desk"])
    org = db.session.get(factories.Organization, world.org_a)
    tech = db.session.get(factories.Technician, world.technician)
    incident = factories.make_incident(org, state="onsite_completed", technician=tech,
                                       summary="ランサムウェア感染 <b>疑い</b>",
                                       category="ransomware")
    visit = incident.dispatches[0]
    visit.state, visit.arrived_at = "completed", datetime(2026, 3, 1, 1, 0)
    visit.completed_at, visit.work_report = datetime(2026, 3, 1, 3, 0), "隔離 & ログ保全"
    visit.signoff_name = "山田"
    db.session.commit()
    kept = [evidence.store_upload(incident.id, desk, io.BytesIO(data), name, kind, "",
                                  now=NOW).id for kind, name, data in files]
    lines = [costs.add_cost_line(incident.id, desk, "dispatch", "駆付け 2時間", 2, 8000, 10,
                                 date(2026, 3, 1), evidence_ids=kept[:1], now=NOW),
             costs.add_cost_line(incident.id, desk, "investigation", "ログ調査", 1, 55555, 10,
                                 date(2026, 3, 1), evidence_ids=kept[-1:], now=NOW)]
    for line in lines:
        costs.approve(line.id, desk, now=NOW)
    claim = Claim(incident_id=incident.id, policy_id=org.policies[0].id)
    db.session.add(claim)
    db.session.commit()
    return claim


def build(claim, version=1):
    packet = packets.build_packet(claim, version, "デスク 太郎", NOW)
    db.session.commit()
    return packet, packets.packet_path(packet)


def rewrite(path, change=None, drop=None, add=None):
    """Re-pack a packet's ZIP with one member changed, dropped or added."""
    with zipfile.ZipFile(path) as src:
        members = [(i.filename, src.read(i.filename)) for i in src.infolist()]
    out = path.with_name("tampered.zip")
    with zipfile.ZipFile(out, "w") as dst:
        for name, data in members:
            if name == drop:
                continue
            if change and name == change[0]:
                data = change[1](data)
            dst.writestr(name, data)
        if add:
            dst.writestr(*add)
    return out


def flip_one_byte(data):
    return data[:len(data) // 2] + bytes([data[len(data) // 2] ^ 1]) + data[len(data) // 2 + 1:]


def test_a_built_packet_verifies_and_holds_every_part(ctx, setup, world):
    claim = make_claim(world)
    packet, path = build(claim)
    assert packets.verify_packet(path) == []
    assert packets.verify_packet(path, public_key=packet.public_key) == []
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read("manifest.json"))
    ids = [e.id for e in claim.incident.evidence]
    assert names == ["claim.json", "claim.pdf", f"evidence/{ids[0]}-領収書.jpg",
                     f"evidence/{ids[1]}-fw (1).log", "manifest.json", "manifest.sig"]
    assert [f["name"] for f in manifest["files"]] == names[:4]
    assert manifest["claim_id"] == claim.id and manifest["packet_version"] == 1
    assert manifest["created_at"] == "2026-03-02T01:30:00Z"
    assert packet.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert packet.size == path.stat().st_size


def test_evidence_files_are_packed_byte_for_byte_under_safe_names(ctx, setup, world):
    claim = make_claim(world)
    _, path = build(claim)
    with zipfile.ZipFile(path) as archive:
        packed = {n: archive.read(n) for n in archive.namelist() if n.startswith("evidence/")}
    assert sorted(packed.values()) == sorted([JPEG, LOG])
    assert all(".." not in name and name.count("/") == 1 for name in packed)


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
UTF8_NAME_FLAG = 0x800  # general purpose bit 11: the name is UTF-8


def test_japanese_file_names_are_kept_in_utf8_with_the_flag_and_the_manifest(ctx, setup, world):
    claim = make_claim(world, files=(("work_report", "調査報告書.txt", LOG),
                                     ("photo", "写真①.png", PNG)))
    _, path = build(claim)
    ids = [e.id for e in claim.incident.evidence]
    expected = [f"evidence/{ids[0]}-調査報告書.txt", f"evidence/{ids[1]}-写真①.png"]
    with zipfile.ZipFile(path) as archive:
        infos = [i for i in archive.infolist() if i.filename.startswith("evidence/")]
        manifest = json.loads(archive.read("manifest.json"))
    assert [i.filename for i in infos] == expected
    assert all(i.flag_bits & UTF8_NAME_FLAG for i in infos)
    raw = path.read_bytes()  # the bytes on disk, as any unzip tool reads them
    assert all(name.encode("utf-8") in raw for name in expected)
    listed = {f["name"]: f.get("original_name") for f in manifest["files"]}
    assert [listed[n] for n in expected] == ["調査報告書.txt", "写真①.png"]
    assert packets.verify_packet(path) == []


@pytest.mark.parametrize(("uploaded", "kept"), [
    ("a/b\\c:d*e?f\"g<h>i|j.txt", "a_b_c_d_e_f_g_h_i_j.txt"),
    ("ログ\x01\x1f.txt", "ログ__.txt"),
    ("../../etc/passwd", "_.._etc_passwd"),
    (".hidden.txt", "hidden.txt"),
    ("報告書. . ", "報告書"),
    ("...", "file"),
    ("写真①.png", "写真①.png"),
])
def test_only_what_no_file_system_accepts_is_replaced(uploaded, kept):
    assert packet_data.safe_file_name(uploaded) == kept


def test_a_long_japanese_name_fits_255_bytes_and_keeps_its_extension():
    kept = packet_data.safe_file_name("調" * 200 + ".png", 250)
    assert len(kept.encode()) <= 250 and kept.endswith("調.png")


def test_claim_json_validates_against_the_schema_and_carries_the_computation(ctx, setup, world):
    claim = make_claim(world)
    _, path = build(claim)
    with zipfile.ZipFile(path) as archive:
        document = json.loads(archive.read("claim.json"))
    jsonschema.validate(document, SCHEMA)
    assert document["schema_version"] == "1"
    assert document["incident"]["reference"] == claim.incident.reference
    assert [g["head"] for g in document["costs_by_head"]] == ["dispatch", "investigation"]
    computation = document["computation"]
    # 16,000 + 55,555 excl. tax; tax once at 10%: floor(71,555 × 0.1) = 7,155.
    assert computation["claimed_total"] == 78_710
    # dispatch 17,600 × 100% + investigation 61,110 × 90% = 17,600 + 54,999.
    assert computation["payable"] == 72_599 and computation["customer_share"] == 6_111
    assert [e["sha256"] for e in document["evidence"]] == [
        hashlib.sha256(JPEG).hexdigest(), hashlib.sha256(LOG).hexdigest()]


@pytest.mark.parametrize("member", ["claim.json", "claim.pdf", "evidence"])
def test_one_changed_byte_in_any_file_is_named(ctx, setup, world, member):
    _, path = build(make_claim(world))
    with zipfile.ZipFile(path) as archive:
        name = next(n for n in archive.namelist() if n.startswith(member))
    problems = packets.verify_packet(rewrite(path, change=(name, flip_one_byte)))
    assert problems == [f"{name}: changed"]


def test_one_changed_byte_in_the_manifest_breaks_its_signature(ctx, setup, world):
    _, path = build(make_claim(world))
    version_3 = ("manifest.json", lambda data: data.replace(b'"packet_version": 1',
                                                            b'"packet_version": 3'))
    assert packets.verify_packet(rewrite(path, change=version_3)) == [
        "manifest.sig: bad signature (manifest.json was altered or signed by another key)"]


def test_a_flipped_byte_inside_the_zip_itself_is_named(ctx, setup, world):
    _, path = build(make_claim(world))
    with zipfile.ZipFile(path) as archive:
        info = next(i for i in archive.infolist() if i.filename.startswith("evidence/"))
    data = bytearray(path.read_bytes())
    data[info.header_offset + 30 + len(info.filename) + 10] ^= 0xFF  # inside the stored data
    path.write_bytes(bytes(data))
    assert packets.verify_packet(path) == [f"{info.filename}: changed"]


def test_an_added_file_is_named(ctx, setup, world):
    _, path = build(make_claim(world))
    problems = packets.verify_packet(rewrite(path, add=("evidence/99-extra.txt", b"hello")))
    assert problems == ["evidence/99-extra.txt: added (not in the manifest)"]


def test_an_empty_folder_entry_as_zip_tools_write_it_is_not_a_problem(ctx, setup, world):
    _, path = build(make_claim(world))
    assert packets.verify_packet(rewrite(path, add=("evidence/", b""))) == []


@pytest.mark.parametrize("member", ["claim.json", "claim.pdf", "evidence", "manifest.sig",
                                    "manifest.json"])
def test_a_dropped_file_is_named(ctx, setup, world, member):
    _, path = build(make_claim(world))
    with zipfile.ZipFile(path) as archive:
        name = next(n for n in archive.namelist() if n.startswith(member))
    assert packets.verify_packet(rewrite(path, drop=name)) == [f"{name}: missing"]


def test_a_manifest_rewritten_to_match_a_changed_file_fails_its_signature(ctx, setup, world):
    _, path = build(make_claim(world))
    forged = b'{"forged": true}'

    def rehash(data):
        manifest = json.loads(data)
        entry = next(f for f in manifest["files"] if f["name"] == "claim.json")
        entry["sha256"], entry["size"] = hashlib.sha256(forged).hexdigest(), len(forged)
        return json.dumps(manifest).encode()

    once = rewrite(path, change=("claim.json", lambda _: forged))
    twice = rewrite(once.rename(path.with_name("step.zip")), change=("manifest.json", rehash))
    assert packets.verify_packet(twice) == [
        "manifest.sig: bad signature (manifest.json was altered or signed by another key)"]


def test_a_signature_by_another_key_or_the_wrong_expected_key_is_named(ctx, setup, world):
    packet, path = build(make_claim(world))
    stranger = Ed25519PrivateKey.generate()
    with zipfile.ZipFile(path) as archive:
        manifest = archive.read("manifest.json")
    resigned = rewrite(path, change=("manifest.sig",
                                     lambda _: base64.b64encode(stranger.sign(manifest))))
    assert packets.verify_packet(resigned) == [
        "manifest.sig: bad signature (manifest.json was altered or signed by another key)"]
    other = packets.public_key_b64(stranger)
    assert packets.verify_packet(path, public_key=other) == [
        "manifest.json: names another signing key than the expected one",
        "manifest.sig: bad signature (manifest.json was altered or signed by another key)"]


def test_something_that_is_not_a_zip_is_one_clear_problem(ctx, setup, tmp_path):
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip at all")
    assert packets.verify_packet(junk) == ["not a readable ZIP file (BadZipFile)"]


def test_packing_records_custody_and_a_resubmission_is_a_new_version(ctx, setup, world):
    claim = make_claim(world)
    first, first_path = build(claim)
    second, second_path = build(claim, version=2)
    assert (first.version, second.version) == (1, 2) and first_path != second_path
    assert first_path.exists() and packets.verify_packet(first_path) == []
    packed = db.session.scalars(db.select(CustodyEntry).where(
        CustodyEntry.action == "packed")).all()
    assert sorted(e.detail for e in packed) == ["claim packet v1"] * 2 + ["claim packet v2"] * 2
    assert db.session.scalar(db.select(db.func.count(ClaimPacket.id))) == 2


@pytest.mark.parametrize("damage", ["changed", "missing"])
def test_an_evidence_file_changed_or_gone_on_disk_refuses_the_build_and_leaves_nothing(
        ctx, setup, world, damage):
    claim = make_claim(world)
    stored = evidence.evidence_path(claim.incident.evidence[-1])
    if damage == "missing":
        stored.unlink()
    else:
        stored.write_bytes(flip_one_byte(stored.read_bytes()))
    with pytest.raises(packets.EvidenceChanged, match=damage if damage == "missing" else "SHA"):
        packets.build_packet(claim, 1, "desk", NOW)
    db.session.rollback()
    assert list(packets.packets_dir().iterdir()) == []
    assert db.session.scalar(db.select(db.func.count(ClaimPacket.id))) == 0


def test_the_pdf_text_has_the_japanese_headings_the_reference_and_the_totals(
        ctx, setup, world):
    claim = make_claim(world)
    _, path = build(claim)
    with zipfile.ZipFile(path) as archive:
        reader = PdfReader(io.BytesIO(archive.read("claim.pdf")))
    text = "\n".join(page.extract_text() for page in reader.pages)
    for heading in ("保険金請求書", "保険契約", "被保険者", "事故の概要", "対応経過",
                    "駆付け記録", "費用明細", "支払額の計算", "証拠一覧"):
        assert heading in text, heading
    assert claim.incident.reference in text
    assert "ランサムウェア感染 <b>疑い</b>" in text  # escaped, shown as typed
    assert "隔離 & ログ保全" in text
    for amount in ("78,710円", "72,599円", "6,111円"):
        assert amount in text, amount
    assert hashlib.sha256(LOG).hexdigest() in text.replace("\n", "")


def test_the_pdf_embeds_the_bundled_font(ctx, setup, world):
    _, path = build(make_claim(world))
    with zipfile.ZipFile(path) as archive:
        reader = PdfReader(io.BytesIO(archive.read("claim.pdf")))
    fonts = {f["/BaseFont"] for page in reader.pages
             for f in page["/Resources"]["/Font"].values()}
    assert any("IPAexGothic" in str(name) for name in fonts)


def test_the_development_key_is_generated_once_private_and_reused(app, ctx, tmp_path,
                                                                  monkeypatch, caplog):
    monkeypatch.setitem(app.config, "CLAIM_SIGNING_KEY", "")
    monkeypatch.setattr(app, "instance_path", str(tmp_path / "instance"))
    first = packets.public_key_b64(packets.signing_key())
    key_file = tmp_path / "instance" / "claim-signing-key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert "development claim-signing key" in caplog.text
    assert packets.public_key_b64(packets.signing_key()) == first


def test_a_malformed_configured_key_is_a_clear_error(app, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "CLAIM_SIGNING_KEY", "not base64!")
    with pytest.raises(packets.SigningKeyError, match="CLAIM_SIGNING_KEY"):
        packets.signing_key()


def _peak_build_bytes(claim, version):
    gc.collect()
    tracemalloc.start()
    try:
        packets.build_packet(claim, version, "desk", NOW)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        db.session.commit()


def test_packing_memory_does_not_grow_with_evidence_size(ctx, setup, world):
    small = make_claim(world, files=(("photo", "small.jpg", JPEG + b"\x00" * 5_000_000),))
    big = make_claim(world, files=(("photo", "big.jpg", JPEG + b"\x00" * 50_000_000),))
    packets.build_packet(small, 99, "warm-up", NOW)  # font, imports, first-use caches
    db.session.commit()
    small_peak, big_peak = _peak_build_bytes(small, 1), _peak_build_bytes(big, 1)
    assert big_peak < small_peak + 1_000_000, (small_peak, big_peak)
    assert big_peak < 20_000_000


def test_the_cli_says_ok_and_exits_0_for_an_intact_packet_signed_by_the_given_key(
        app, setup, world, runner):
    with app.app_context():
        packet, path = build(make_claim(world))
        key = packet.public_key
        db.session.remove()
    result = runner.invoke(args=["claims", "verify", str(path), "--public-key", key])
    assert result.exit_code == 0 and result.output.startswith("OK"), result.output
    assert "expected key" in result.output


def test_the_cli_without_a_key_says_it_checked_integrity_not_origin_and_exits_3(
        app, setup, world, runner):
    with app.app_context():
        _, path = build(make_claim(world))
        db.session.remove()
    result = runner.invoke(args=["claims", "verify", str(path)])
    assert result.exit_code == 3, result.output
    assert result.output.startswith("INTEGRITY ONLY") and "origin is NOT checked" in result.output
    assert "OK" not in result.output


def test_the_cli_without_a_key_still_answers_3_for_a_packet_resigned_by_anyone(
        app, setup, world, runner):
    with app.app_context():
        _, path = build(make_claim(world))
        db.session.remove()
    stranger = Ed25519PrivateKey.generate()
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    manifest["signature"]["public_key"] = packets.public_key_b64(stranger)
    forged = json.dumps(manifest).encode()
    resigned = rewrite(rewrite(path, change=("manifest.json", lambda _: forged)).rename(
        path.with_name("step.zip")), change=("manifest.sig",
                                             lambda _: base64.b64encode(stranger.sign(forged))))
    assert runner.invoke(args=["claims", "verify", str(resigned)]).exit_code == 3
    with app.app_context():
        ours = packets.signing_public_key()[0]
    caught = runner.invoke(args=["claims", "verify", str(resigned), "--public-key", ours])
    assert caught.exit_code == 1 and "names another signing key" in caught.output


def test_the_cli_prints_the_public_key_and_its_fingerprint(app, setup, world, runner):
    with app.app_context():
        packet, _ = build(make_claim(world))
        key = packet.public_key
        db.session.remove()
    result = runner.invoke(args=["claims", "public-key"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1] == key  # the same text as manifest.json's signature.public_key
    digest = hashlib.sha256(base64.b64decode(key)).hexdigest()
    assert lines[3] == " ".join(digest[i:i + 4] for i in range(0, 64, 4))
    assert "SHA-256 of the 32 raw public key bytes" in lines[2]


def test_the_cli_names_each_problem_and_fails(app, setup, world, runner):
    with app.app_context():
        _, path = build(make_claim(world))
        db.session.remove()
    tampered = rewrite(path, change=("claim.json", flip_one_byte), drop="claim.pdf")
    result = runner.invoke(args=["claims", "verify", str(tampered)])
    assert result.exit_code == 1
    assert "claim.json: changed" in result.output and "claim.pdf: missing" in result.output


def test_the_cli_checks_against_an_expected_public_key(app, setup, world, runner):
    with app.app_context():
        _, path = build(make_claim(world))
        db.session.remove()
    other = packets.public_key_b64(Ed25519PrivateKey.generate())
    result = runner.invoke(args=["claims", "verify", str(path), "--public-key", other])
    assert result.exit_code == 1 and "bad signature" in result.output


def test_the_cli_refuses_a_missing_file(runner, tmp_path):
    result = runner.invoke(args=["claims", "verify", str(tmp_path / "nope.zip")])
    assert result.exit_code != 0 and "nope.zip" in result.output



def test_a_packet_whose_row_is_rolled_back_leaves_no_file(ctx, setup, world):
    claim = make_claim(world)
    packet = packets.build_packet(claim, 1, "デスク 太郎", NOW)
    path = packets.packet_path(packet)
    assert path.exists()
    db.session.rollback()  # e.g. the submission was refused after the packet was built
    assert not path.exists()
    _, kept = build(db.session.get(Claim, claim.id))
    assert kept.exists()  # a committed packet stays
