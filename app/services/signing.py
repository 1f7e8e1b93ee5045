"""Ed25519 server keys: one from a setting (base64 of the 32 raw bytes), or a development
key generated once under instance/; and a key derived from another for a second purpose."""

import base64
import binascii
import hashlib
import logging
import os
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

log = logging.getLogger(__name__)

CLAIM_DEV_KEY_FILE = "claim-signing-key"  # under instance/, when CLAIM_SIGNING_KEY is unset


class SigningKeyError(RuntimeError):
    """A key setting is set but is not a base64 raw Ed25519 private key."""


def configured_key(setting, dev_file):
    """The key in the setting `setting`, else the development key in instance/`dev_file`."""
    if current_app.config.get(setting, ""):
        return key_from_setting(setting)
    return development_key(Path(current_app.instance_path) / dev_file, setting)


def key_from_setting(setting):
    """The key a setting holds; SigningKeyError when it is not one."""
    try:
        return Ed25519PrivateKey.from_private_bytes(
            base64.b64decode(current_app.config.get(setting, ""), validate=True))
    except (binascii.Error, ValueError) as exc:
        raise SigningKeyError(f"{setting} must be the base64 of a 32-byte raw "
                              "Ed25519 private key.") from exc


def development_key(path, setting):
    """Read the development key, generating it once (0600) when there is none yet."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:  # O_EXCL: two processes starting at once keep the first one's key
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(base64.b64encode(raw_bytes(Ed25519PrivateKey.generate()))
                             .decode() + "\n")
            log.warning("Generated a development %s at %s; set %s in production.",
                        path.name.removesuffix("-key") + " key", path, setting)
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(path.read_text().strip()))


def raw_bytes(private_key):
    """The 32 raw bytes of a private key."""
    return private_key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                     serialization.NoEncryption())


def fingerprint(public_raw):
    """SHA-256 of a raw public key, lowercase hex in groups of four: short enough to read
    out over the phone, long enough that no other key shares it."""
    digest = hashlib.sha256(public_raw).hexdigest()
    return " ".join(digest[i:i + 4] for i in range(0, len(digest), 4))


def derived_key(parent, purpose):
    """A separate key for `purpose`, derived one way (HKDF-SHA256) from `parent`: a
    signature made with one can never stand for the other's, and the child does not
    reveal the parent."""
    seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=f"kaketsuke/{purpose}".encode()).derive(raw_bytes(parent))
    return Ed25519PrivateKey.from_private_bytes(seed)
