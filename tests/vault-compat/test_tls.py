"""Vault clients over TLS against the real cryptoserve binary: hvac and the `bao` CLI connect
with the CA they are given (`VAULT_CACERT` / `BAO_CACERT`, hvac's `verify`), present a client
certificate when the server requires one (`VAULT_CLIENT_CERT`/`_KEY`, hvac's `cert`), and
refuse a server whose certificate is from an unknown CA, names another host, or has expired.

Certificates: `cryptoserve tls dev-cert` for the plain case (so its output is proven usable by
Go's crypto/x509 and Python's ssl), trustme (a test CA library) for the broken ones.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterator, NamedTuple

import pytest
import requests
import trustme

from conftest import bao_bin, clean_env, create_identity, cryptoserve_bin, free_port, poll_until, stop


class TlsServer(NamedTuple):
    addr: str
    token: str
    work: Path


@contextlib.contextmanager
def tls_server(cert: Path, key: Path, client_ca: Path | None = None) -> Iterator[TlsServer]:
    """cryptoserve serving TLS with `cert`/`key` (and requiring client certificates from
    `client_ca`), probed on its plain ops listener."""
    binary = cryptoserve_bin()
    work = Path(tempfile.mkdtemp(prefix="vault-compat-tls-"))
    (work / "home").mkdir()
    port, ops = free_port(), free_port()
    extra = {"CRYPTOSERVE_TLS_CLIENT_CA": str(client_ca)} if client_ca else {}
    env = clean_env(work / "home", CRYPTOSERVE_LISTEN=f"127.0.0.1:{port}",
                    CRYPTOSERVE_OPS_LISTEN=f"127.0.0.1:{ops}",
                    CRYPTOSERVE_DATA_DIR=str(work / "data"), CRYPTOSERVE_SHUTDOWN_DELAY="0",
                    CRYPTOSERVE_TLS_CERT=str(cert), CRYPTOSERVE_TLS_KEY=str(key), **extra)
    token = create_identity(binary, env, "--name", "tls-admin", "--role", "admin", "--contexts", "*")
    log = work / "cryptoserve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([binary, "serve"], env=env, cwd=work, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        poll_until(lambda: requests.get(f"http://127.0.0.1:{ops}/health/ready", timeout=2).status_code == 200,
                   "cryptoserve /health/ready (ops listener)", proc=proc, log=log)
        yield TlsServer(f"https://localhost:{port}", token, work)
    finally:
        stop(proc)
        shutil.rmtree(work, ignore_errors=True)


def bao(server: TlsServer, *args: str, **env: str) -> subprocess.CompletedProcess:
    """The real `bao` CLI with VAULT_ADDR/VAULT_TOKEN and the given extra environment."""
    return subprocess.run([bao_bin(), *args], capture_output=True, text=True, timeout=60,
                          env=clean_env(server.work / "home", VAULT_ADDR=server.addr,
                                        VAULT_TOKEN=server.token, **env),
                          stdin=subprocess.DEVNULL)


HVAC_ROUND_TRIP = """
import base64, os, sys, hvac
cert = (os.environ["CLIENT_CERT"], os.environ["CLIENT_KEY"]) if os.environ.get("CLIENT_CERT") else None
client = hvac.Client(url=os.environ["VAULT_ADDR"], token=os.environ["VAULT_TOKEN"], cert=cert)
client.secrets.transit.create_key(name="tls-key")
ct = client.secrets.transit.encrypt_data(name="tls-key", plaintext=base64.b64encode(b"over tls").decode())
pt = client.secrets.transit.decrypt_data(name="tls-key", ciphertext=ct["data"]["ciphertext"])
assert base64.b64decode(pt["data"]["plaintext"]) == b"over tls"
print("ok")
"""


def hvac(server: TlsServer, **env: str) -> subprocess.CompletedProcess:
    """hvac in a fresh interpreter: it reads VAULT_CACERT when imported, as users run it."""
    return subprocess.run([sys.executable, "-c", HVAC_ROUND_TRIP], capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL,
                          env=clean_env(server.work / "home", VAULT_ADDR=server.addr,
                                        VAULT_TOKEN=server.token, **env))


@pytest.fixture(scope="module")
def dev_certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dev-cert")
    done = subprocess.run([cryptoserve_bin(), "tls", "dev-cert", "--out", str(out)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return out


def test_hvac_and_bao_connect_with_the_ca_they_are_given(dev_certs: Path) -> None:
    with tls_server(dev_certs / "server.crt", dev_certs / "server.key") as server:
        ca = str(dev_certs / "ca.crt")
        done = hvac(server, VAULT_CACERT=ca)
        assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
        done = bao(server, "write", "-format=json", "transit/encrypt/bao-key",
                   "plaintext=aGk=", VAULT_CACERT=ca)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["data"]["ciphertext"].startswith("vault:v1:")
        done = bao(server, "read", "-format=json", "transit/keys/bao-key", BAO_CACERT=ca)
        assert done.returncode == 0, done.stderr

        # Without the CA, both refuse the server's certificate.
        done = hvac(server)
        assert done.returncode != 0 and "CERTIFICATE_VERIFY_FAILED" in done.stderr, done.stderr
        done = bao(server, "read", "transit/keys/bao-key")
        assert done.returncode == 2 and "unknown authority" in done.stderr, done.stderr


def write_pair(cert: trustme.LeafCert, directory: Path, name: str) -> tuple[Path, Path]:
    crt, key = directory / f"{name}.crt", directory / f"{name}.key"
    cert.cert_chain_pems[0].write_to_path(str(crt))
    cert.private_key_pem.write_to_path(str(key))
    return crt, key


@pytest.mark.parametrize("case", ["wrong-host", "expired"])
def test_clients_refuse_a_certificate_for_another_host_or_past_its_date(case: str, tmp_path: Path) -> None:
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.crt"))
    if case == "wrong-host":
        leaf = ca.issue_cert("wrong.example")
        expected_hvac, expected_bao = "CERTIFICATE_VERIFY_FAILED", "not localhost"
    else:
        now = datetime.datetime.now(datetime.timezone.utc)
        leaf = ca.issue_cert("localhost", "127.0.0.1", not_before=now - datetime.timedelta(days=10),
                             not_after=now - datetime.timedelta(days=1))
        expected_hvac, expected_bao = "expired", "expired"
    crt, key = write_pair(leaf, tmp_path, "server")
    with tls_server(crt, key) as server:
        ca_file = str(tmp_path / "ca.crt")
        done = hvac(server, VAULT_CACERT=ca_file)
        assert done.returncode != 0 and expected_hvac in done.stderr, done.stderr
        done = bao(server, "read", "transit/keys/any", VAULT_CACERT=ca_file)
        assert done.returncode == 2 and expected_bao in done.stderr, done.stderr


def test_mutual_tls_needs_the_client_certificate(tmp_path: Path) -> None:
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.crt"))
    crt, key = write_pair(ca.issue_cert("localhost", "127.0.0.1"), tmp_path, "server")
    client_crt, client_key = write_pair(ca.issue_cert("vault-client@example"), tmp_path, "client")
    stranger_crt, stranger_key = write_pair(trustme.CA().issue_cert("intruder@example"), tmp_path, "stranger")
    with tls_server(crt, key, client_ca=tmp_path / "ca.crt") as server:
        ca_file = str(tmp_path / "ca.crt")
        done = hvac(server, VAULT_CACERT=ca_file, CLIENT_CERT=str(client_crt), CLIENT_KEY=str(client_key))
        assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
        done = bao(server, "write", "-f", "transit/keys/mtls", VAULT_CACERT=ca_file,
                   VAULT_CLIENT_CERT=str(client_crt), VAULT_CLIENT_KEY=str(client_key))
        assert done.returncode == 0, done.stderr

        done = bao(server, "read", "transit/keys/mtls", VAULT_CACERT=ca_file)
        assert done.returncode == 2, done.stderr
        done = hvac(server, VAULT_CACERT=ca_file)
        assert done.returncode != 0, done.stdout
        done = bao(server, "read", "transit/keys/mtls", VAULT_CACERT=ca_file,
                   VAULT_CLIENT_CERT=str(stranger_crt), VAULT_CLIENT_KEY=str(stranger_key))
        assert done.returncode == 2, done.stderr
