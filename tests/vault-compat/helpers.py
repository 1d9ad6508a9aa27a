"""Small shared helpers for the Vault-Transit compatibility tests."""

from __future__ import annotations

import base64

# b64("hello world"), the plaintext the reference captures use throughout (Appendix A: PT).
PT = "aGVsbG8gd29ybGQ="


def b64(text: str | bytes) -> str:
    """Standard, padded base64 of a string or bytes, as Vault expects everywhere."""
    raw = text.encode() if isinstance(text, str) else text
    return base64.b64encode(raw).decode()


def unb64(text: str) -> bytes:
    """Strict standard base64 decode (what we check server output with)."""
    return base64.b64decode(text, validate=True)


def ct_version(ciphertext: str) -> int:
    """The key version a `vault:vN:...` ciphertext names (reference §4.1)."""
    prefix, version, _payload = ciphertext.split(":", 2)
    assert prefix == "vault", ciphertext
    assert version.startswith("v"), ciphertext
    return int(version[1:])


def tamper(ciphertext: str) -> str:
    """The same ciphertext with one bit of its last payload byte flipped: still well-formed
    (prefix, version, base64, length), so only authentication can reject it."""
    prefix, version, payload = ciphertext.split(":", 2)
    blob = bytearray(base64.b64decode(payload))
    blob[-1] ^= 0x01
    return f"{prefix}:{version}:{base64.b64encode(bytes(blob)).decode()}"


def with_version(ciphertext: str, version: int) -> str:
    """The same payload under another `vN` label (for 'version is too new' cases)."""
    prefix, _version, payload = ciphertext.split(":", 2)
    return f"{prefix}:v{version}:{payload}"
