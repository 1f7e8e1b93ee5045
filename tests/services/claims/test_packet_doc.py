"""docs/claim-packet.md holds: its manifest schema fits real packets, its example verifies them."""

import base64
import json
import re
import zipfile

import jsonschema
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.config import BASE_DIR
from app.services.claims import packets
from tests.services.claims.test_packets import (
    PNG,
    build,
    flip_one_byte,
    make_claim,
    rewrite,
    setup,  # noqa: F401  (fixture)
)

DOC = (BASE_DIR / "docs" / "claim-packet.md").read_text("utf-8")
MANIFEST_SCHEMA = json.loads(
    (BASE_DIR / "docs" / "claim-packet-manifest.schema.json").read_text("utf-8"))
FILES = (("work_report", "調査報告書.txt", b"log line\n" * 20), ("photo", "写真①.png", PNG))


def doc_example():
    """The verification example of the doc, run as written: its verify_packet function."""
    blocks = re.findall(r"```python\n(.*?)```", DOC, re.S)
    assert len(blocks) == 1, "the doc holds one Python example"
    code = blocks[0]
    assert len(code.splitlines()) <= 20
    imports = set(re.findall(r"^(?:from|import) (\w+)", code, re.M))
    assert imports <= {"base64", "hashlib", "json", "zipfile", "cryptography"}, imports
    namespace = {}
    exec(compile(code, "docs/claim-packet.md", "exec"), namespace)  # noqa: S102
    return namespace["verify_packet"]


def test_a_real_manifest_validates_against_the_documented_schema(ctx, setup, world):  # noqa: F811
    _, path = build(make_claim(world, files=FILES))
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    jsonschema.validate(manifest, MANIFEST_SCHEMA)
    assert [f.get("original_name") for f in manifest["files"][2:]] == ["調査報告書.txt",
                                                                      "写真①.png"]


def test_the_schema_refuses_a_manifest_without_a_signature_key(ctx, setup, world):  # noqa: F811
    _, path = build(make_claim(world, files=FILES))
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    del manifest["signature"]["public_key"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(manifest, MANIFEST_SCHEMA)


def test_the_docs_example_verifies_a_real_packet_with_the_published_key(
        ctx, setup, world):  # noqa: F811
    _, path = build(make_claim(world, files=FILES))
    published, _ = packets.signing_public_key()
    doc_example()(path, published)  # raises on any problem


def test_the_docs_example_refuses_a_changed_file(ctx, setup, world):  # noqa: F811
    _, path = build(make_claim(world, files=FILES))
    with zipfile.ZipFile(path) as archive:
        name = next(n for n in archive.namelist() if n.startswith("evidence/"))
    tampered = rewrite(path, change=(name, flip_one_byte))
    with pytest.raises(ValueError, match="changed"):
        doc_example()(tampered, packets.signing_public_key()[0])


def test_the_docs_example_refuses_an_added_file(ctx, setup, world):  # noqa: F811
    _, path = build(make_claim(world, files=FILES))
    with pytest.raises(ValueError, match="not in the manifest"):
        doc_example()(rewrite(path, add=("evidence/99-extra.txt", b"x")),
                      packets.signing_public_key()[0])


def test_the_docs_example_refuses_a_packet_resigned_by_another_key(ctx, setup, world):  # noqa: F811
    _, path = build(make_claim(world, files=FILES))
    stranger = Ed25519PrivateKey.generate()
    with zipfile.ZipFile(path) as archive:
        manifest = archive.read("manifest.json")
    resigned = rewrite(path, change=("manifest.sig",
                                     lambda _: base64.b64encode(stranger.sign(manifest))))
    with pytest.raises(InvalidSignature):
        doc_example()(resigned, packets.signing_public_key()[0])
