"""The real hvac 2.4.0 client through every endpoint of the reference's §2 table (S1-S7,
T1-T10 except export).

Every test runs against both servers (the `target` fixture): against OpenBao it proves the
test right, against CryptoServe it checks compatibility. The few places where CryptoServe
deliberately differs branch on `target.name` and say why.

The tests in this module share one server per target and run in file order; each uses its
own key names, except `test_list_keys_empty_first`, which must run before any key exists.
"""

from __future__ import annotations

import hvac
import pytest
import requests
from hvac import exceptions as hx

from conftest import MOUNT, Target
from helpers import PT, b64, ct_version, tamper, unb64

# The key-info object (`data` of create, read, rotate, config), reference §3.2.
KEY_INFO_FIELDS = {
    "allow_plaintext_backup", "auto_rotate_period", "deletion_allowed", "derived", "exportable",
    "imported_key", "keys", "latest_version", "min_available_version", "min_decryption_version",
    "min_encryption_version", "name", "soft_deleted", "supports_decryption",
    "supports_derivation", "supports_encryption", "supports_signing", "type",
}
DERIVED_FIELDS = {"kdf", "convergent_encryption"}
CONVERGENT_FIELDS = {"convergent_encryption_version"}


# --- helpers ---------------------------------------------------------------------------------


def client(target: Target, token: str | None = None) -> hvac.Client:
    """An hvac client with the token passed explicitly (never read from ~/.vault-token)."""
    return hvac.Client(url=target.addr, token=token if token is not None else target.admin_token)


@pytest.fixture(scope="module")
def admin(target: Target) -> hvac.Client:
    return client(target)


@pytest.fixture(scope="module")
def transit(admin: hvac.Client):
    """`client.secrets.transit` with the mount bound, so calls read like hvac user code."""

    class Bound:
        def __getattr__(self, name):
            method = getattr(admin.secrets.transit, name)
            return lambda *a, **kw: method(*a, mount_point=MOUNT, **kw)

    return Bound()


def error_of(excinfo: pytest.ExceptionInfo) -> list[str]:
    """The parsed `errors` list of an hvac exception. hvac only parses the body when
    Content-Type is exactly `application/json` (§1.4), so a non-empty list here also proves
    the header."""
    errors = excinfo.value.errors
    assert isinstance(errors, list) and errors, f"no parsed errors: {excinfo.value!r}"
    assert all(isinstance(e, str) and e for e in errors), errors
    return errors


def batch_failure(excinfo: pytest.ExceptionInfo) -> list[dict]:
    """A partly failed encrypt/decrypt batch is a 400 with the envelope and `batch_results`
    and no `errors` (§4.5): hvac raises InvalidRequest with `.errors` None and `.json` set."""
    exc = excinfo.value
    assert exc.errors is None, exc.errors
    assert isinstance(exc.json, dict), "body not parsed: Content-Type must be application/json"
    return exc.json["data"]["batch_results"]


def raw_post(admin: hvac.Client, path: str, body: dict):
    """A POST through hvac's own adapter, for fields hvac has no parameter for (or validates
    locally): returns dict on 200, the Response on other 2xx, raises on errors."""
    return admin.adapter.post(f"/v1/{MOUNT}/{path}", json=body)


def assert_key_info(data: dict, name: str, *, key_type: str = "aes256-gcm96",
                    derived: bool = False, convergent: bool = False) -> None:
    """Field set and the values a fresh key must have (§3.2)."""
    expected = set(KEY_INFO_FIELDS)
    if derived:
        expected |= DERIVED_FIELDS
    if convergent:
        expected |= CONVERGENT_FIELDS
    assert set(data) == expected, f"fields differ: extra {set(data) - expected}, missing {expected - set(data)}"
    assert data["name"] == name
    assert data["type"] == key_type
    assert data["derived"] is derived
    assert data["exportable"] is False
    assert data["deletion_allowed"] is False
    assert data["allow_plaintext_backup"] is False
    assert data["latest_version"] == 1
    assert data["min_decryption_version"] == 1
    assert data["min_encryption_version"] == 0
    assert list(data["keys"]) == ["1"] and isinstance(data["keys"]["1"], int)
    assert data["supports_encryption"] is True and data["supports_decryption"] is True
    assert data["supports_derivation"] is True and data["supports_signing"] is False
    assert isinstance(data["auto_rotate_period"], int)
    if derived:
        assert data["kdf"] == "hkdf_sha256"
        assert data["convergent_encryption"] is convergent


def assert_envelope(resp: dict) -> dict:
    """All 8 envelope keys (§1.3); returns `data`."""
    assert set(resp) == {"request_id", "lease_id", "renewable", "lease_duration", "data",
                         "wrap_info", "warnings", "auth"}, set(resp)
    assert isinstance(resp["request_id"], str) and resp["request_id"]
    assert resp["lease_id"] == "" and resp["renewable"] is False and resp["lease_duration"] == 0
    return resp["data"]


def encrypt(transit, name: str, plaintext: str = PT, **kw) -> str:
    return transit.encrypt_data(name, plaintext=plaintext, **kw)["data"]["ciphertext"]


def decrypt(transit, name: str, ciphertext: str, **kw) -> str:
    return transit.decrypt_data(name, ciphertext=ciphertext, **kw)["data"]["plaintext"]


# --- T3 first: nothing exists yet -------------------------------------------------------------


def test_list_keys_empty_first(transit):
    """With no keys, list is 404 {"errors":[]} (§3.4), which hvac raises as InvalidPath."""
    with pytest.raises(hx.InvalidPath) as excinfo:
        transit.list_keys()
    assert excinfo.value.json == {"errors": []}


# --- S1-S7 -----------------------------------------------------------------------------------


def test_sys_health(target, admin):
    """S1: GET returns bare JSON (no envelope); hvac's default HEAD returns a Response with an
    empty body. No token needed."""
    health = admin.sys.read_health_status(method="GET")
    assert health["initialized"] is True and health["sealed"] is False
    assert "request_id" not in health
    head = admin.sys.read_health_status()
    assert isinstance(head, requests.Response) and head.status_code == 200 and head.content == b""
    anonymous = hvac.Client(url=target.addr, token="")
    assert anonymous.sys.read_health_status(method="GET")["sealed"] is False


def test_seal_status(admin):
    """S2: hvac is_sealed() reads `sealed`."""
    assert admin.sys.is_sealed() is False


def test_is_authenticated(target, admin):
    """S4: 200 for our token; a bogus token must be 403 (a 401 would raise Unauthorized out of
    is_authenticated(), §1.4)."""
    assert admin.is_authenticated() is True
    assert client(target, "bogus").is_authenticated() is False
    with pytest.raises(hx.Forbidden) as excinfo:
        client(target, "bogus").auth.token.lookup_self()
    error_of(excinfo)
    me = admin.auth.token.lookup_self()
    assert isinstance(assert_envelope(me), dict)


def test_list_mounts(admin):
    """S5: mounts at the top level and again under `data`."""
    mounts = admin.sys.list_mounted_secrets_engines()
    assert mounts[f"{MOUNT}/"]["type"] == "transit"
    assert mounts["data"][f"{MOUNT}/"]["type"] == "transit"


def test_enable_secrets_engine(target, admin):
    """S6/S7. CryptoServe: the transit mount always exists, so enabling transit at the
    configured mount is an idempotent 204 and any other engine type is 400. OpenBao: enabling
    at a used path is 400 (A.9), at a new path 204, and disabling is 204."""
    if target.name == "cryptoserve":
        resp = admin.sys.enable_secrets_engine(backend_type="transit", path=MOUNT)
        assert resp.status_code == 204
        with pytest.raises(hx.InvalidRequest) as excinfo:
            admin.sys.enable_secrets_engine(backend_type="kv", path="kv-compat")
        error_of(excinfo)
    else:
        with pytest.raises(hx.InvalidRequest):
            admin.sys.enable_secrets_engine(backend_type="transit", path=MOUNT)
        resp = admin.sys.enable_secrets_engine(backend_type="transit", path="transit-hvac")
        assert resp.status_code == 204
        assert admin.sys.disable_secrets_engine(path="transit-hvac").status_code == 204


# --- T1-T3 -----------------------------------------------------------------------------------


def test_create_keys(transit):
    """T1: 200 + envelope + key info for each key shape hvac can ask for."""
    data = assert_envelope(transit.create_key("k-aes", key_type="aes256-gcm96"))
    assert_key_info(data, "k-aes")
    data = transit.create_key("k-chacha", key_type="chacha20-poly1305")["data"]
    assert_key_info(data, "k-chacha", key_type="chacha20-poly1305")
    data = transit.create_key("k-derived", derived=True)["data"]
    assert_key_info(data, "k-derived", derived=True)
    data = transit.create_key("k-conv", derived=True, convergent_encryption=True)["data"]
    assert_key_info(data, "k-conv", derived=True, convergent=True)
    data = transit.create_key("k-default")["data"]
    assert_key_info(data, "k-default")


def test_create_existing_key_is_unchanged(transit):
    """Creating an existing key is 200 with the key unchanged; another type is ignored (§3.3)."""
    transit.create_key("k-again")
    data = transit.create_key("k-again", key_type="chacha20-poly1305")["data"]
    assert data["type"] == "aes256-gcm96" and data["latest_version"] == 1


def test_create_exportable(target, transit):
    """Deliberate difference: CryptoServe never exports key material, so it refuses
    `exportable=True` with a 400 where OpenBao creates the key."""
    if target.name == "cryptoserve":
        with pytest.raises(hx.InvalidRequest) as excinfo:
            transit.create_key("k-exp", exportable=True)
        error_of(excinfo)
        with pytest.raises(hx.InvalidPath):
            transit.read_key("k-exp")
    else:
        assert transit.create_key("k-exp", exportable=True)["data"]["exportable"] is True


def test_create_key_refusals(admin, transit):
    """400 for an unknown type and for convergent without derived (A.20, A.21)."""
    with pytest.raises(hx.InvalidRequest) as excinfo:
        raw_post(admin, "keys/k-bad", {"type": "foo"})
    error_of(excinfo)
    # hvac refuses convergent-without-derived locally; the server must refuse it too.
    with pytest.raises(hx.ParamValidationError):
        transit.create_key("k-bad2", convergent_encryption=True)
    with pytest.raises(hx.InvalidRequest) as excinfo:
        raw_post(admin, "keys/k-bad2", {"convergent_encryption": True})
    error_of(excinfo)


def test_read_and_list_keys(transit):
    """T2/T3: read gives the same key info; list is sorted names; a missing key is
    InvalidPath with an empty errors list."""
    transit.create_key("k-read", key_type="chacha20-poly1305")
    assert_key_info(assert_envelope(transit.read_key("k-read")), "k-read", key_type="chacha20-poly1305")
    keys = transit.list_keys()["data"]["keys"]
    assert keys == sorted(keys)
    assert {"k-aes", "k-chacha", "k-derived", "k-conv", "k-read"} <= set(keys)
    with pytest.raises(hx.InvalidPath) as excinfo:
        transit.read_key("nope")
    assert excinfo.value.json == {"errors": []}


# --- T7/T8 -----------------------------------------------------------------------------------


@pytest.mark.parametrize("key_type", ["aes256-gcm96", "chacha20-poly1305"])
def test_encrypt_decrypt_round_trip(transit, key_type):
    """T7/T8 with and without associated_data; random nonces; wrong/missing AAD fails."""
    name = f"k-rt-{key_type[:3]}"
    transit.create_key(name, key_type=key_type)
    resp = transit.encrypt_data(name, plaintext=PT)
    data = assert_envelope(resp)
    assert set(data) == {"ciphertext", "key_version"} and data["key_version"] == 1
    assert data["ciphertext"].startswith("vault:v1:")
    assert decrypt(transit, name, data["ciphertext"]) == PT
    assert encrypt(transit, name) != data["ciphertext"], "nonces must be random"

    aad = b64("aad-1")
    ct = encrypt(transit, name, associated_data=aad)
    assert decrypt(transit, name, ct, associated_data=aad) == PT
    for wrong in (None, b64("aad-2")):
        with pytest.raises(hx.InvalidRequest) as excinfo:
            decrypt(transit, name, ct, associated_data=wrong)
        error_of(excinfo)
    with pytest.raises(hx.InvalidRequest):
        decrypt(transit, name, tamper(data["ciphertext"]))
    assert decrypt(transit, name, encrypt(transit, name, plaintext="")) == ""


def test_bad_input(transit):
    """Bad base64 plaintext and an unknown key on decrypt are 400 InvalidRequest (A.35, A.67:
    not 404)."""
    transit.create_key("k-bad-input")
    for bad in ("!!bad!!", "aGVsbG8", "-_-_"):
        with pytest.raises(hx.InvalidRequest) as excinfo:
            transit.encrypt_data("k-bad-input", plaintext=bad)
        error_of(excinfo)
    ct = encrypt(transit, "k-bad-input")
    with pytest.raises(hx.InvalidRequest) as excinfo:
        transit.decrypt_data("nope-never-created", ciphertext=ct)
    error_of(excinfo)
    for bad_ct in ("foo", "vault:vX:AAAA", "vault:v1:!!!!", "vault:v1:AAAA"):
        with pytest.raises(hx.InvalidRequest):
            transit.decrypt_data("k-bad-input", ciphertext=bad_ct)


def test_batch(admin, transit):
    """Batch encrypt/decrypt with references; a partial failure is a 400 envelope carrying
    batch_results, or a 207 when partial_failure_response_code=207 is sent (§4.5)."""
    transit.create_key("k-batch")
    items = [{"plaintext": b64("one"), "reference": "r1"},
             {"plaintext": b64("two"), "reference": "r2"},
             {"plaintext": b64("three")}]
    results = transit.encrypt_data("k-batch", batch_input=items)["data"]["batch_results"]
    assert [r["reference"] for r in results] == ["r1", "r2", ""]
    assert all(set(r) == {"ciphertext", "key_version", "reference"} for r in results)

    dec_items = [{"ciphertext": r["ciphertext"], "reference": r["reference"]} for r in results]
    plain = transit.decrypt_data("k-batch", batch_input=dec_items)["data"]["batch_results"]
    assert [p["plaintext"] for p in plain] == [b64("one"), b64("two"), b64("three")]
    assert all(set(p) == {"plaintext", "reference"} for p in plain)

    with pytest.raises(hx.InvalidRequest) as excinfo:
        transit.encrypt_data("k-batch", batch_input=[{"plaintext": b64("ok"), "reference": "a"},
                                                     {"plaintext": "!!bad", "reference": "b"}])
    failed = batch_failure(excinfo)
    assert "ciphertext" in failed[0] and failed[1]["error"] and failed[1]["reference"] == "b"

    with pytest.raises(hx.InvalidRequest) as excinfo:
        transit.decrypt_data("k-batch", batch_input=[dec_items[0],
                                                     {"ciphertext": tamper(results[1]["ciphertext"]), "reference": "t"}])
    failed = batch_failure(excinfo)
    assert failed[0]["plaintext"] == b64("one")
    assert failed[1]["plaintext"] == "" and failed[1]["error"] and failed[1]["reference"] == "t"

    for op, item_ok, item_bad in (
        ("encrypt", {"plaintext": PT}, {"plaintext": "!!bad"}),
        ("decrypt", {"ciphertext": results[0]["ciphertext"]}, {"ciphertext": "foo"}),
    ):
        resp = raw_post(admin, f"{op}/k-batch",
                        {"batch_input": [item_ok, item_bad], "partial_failure_response_code": 207})
        assert isinstance(resp, requests.Response) and resp.status_code == 207, op
        assert resp.headers["Content-Type"] == "application/json"
        out = resp.json()["data"]["batch_results"]
        assert "error" not in out[0] and out[1]["error"]

    with pytest.raises(hx.InvalidRequest) as excinfo:
        transit.encrypt_data("k-batch", batch_input=[])
    error_of(excinfo)


def test_derived_key(transit):
    """Derived keys need `context` on every call; a wrong context fails (§4.2)."""
    transit.create_key("k-der", derived=True)
    with pytest.raises(hx.InvalidRequest) as excinfo:
        transit.encrypt_data("k-der", plaintext=PT)
    error_of(excinfo)
    ctx = b64("user-42")
    ct = encrypt(transit, "k-der", context=ctx)
    assert decrypt(transit, "k-der", ct, context=ctx) == PT
    with pytest.raises(hx.InvalidRequest):
        decrypt(transit, "k-der", ct)
    with pytest.raises(hx.InvalidRequest):
        decrypt(transit, "k-der", ct, context=b64("user-43"))
    with pytest.raises(hx.InvalidRequest):
        transit.encrypt_data("k-der", plaintext=PT, context="!!bad")


def test_convergent_key(transit):
    """Same version + context + plaintext gives the same ciphertext (§4.1)."""
    transit.create_key("k-conv2", derived=True, convergent_encryption=True)
    ctx = b64("ctx-1")
    first = encrypt(transit, "k-conv2", context=ctx)
    assert encrypt(transit, "k-conv2", context=ctx) == first
    assert encrypt(transit, "k-conv2", context=b64("ctx-2")) != first
    assert encrypt(transit, "k-conv2", plaintext=b64("other"), context=ctx) != first
    assert decrypt(transit, "k-conv2", first, context=ctx) == PT
    with pytest.raises(hx.InvalidRequest):
        transit.encrypt_data("k-conv2", plaintext=PT)


# --- T4, T9, T5 ------------------------------------------------------------------------------


def test_rotate_key_version_rewrap(transit):
    """T4 rotate (200 + key info), encrypt with key_version, T9 rewrap single and batch."""
    transit.create_key("k-rot")
    ct1 = encrypt(transit, "k-rot")
    data = assert_envelope(transit.rotate_key("k-rot"))
    assert data["latest_version"] == 2 and sorted(data["keys"]) == ["1", "2"]
    assert transit.read_key("k-rot")["data"]["latest_version"] == 2

    assert ct_version(encrypt(transit, "k-rot")) == 2
    assert ct_version(encrypt(transit, "k-rot", key_version=1)) == 1
    with pytest.raises(hx.InvalidRequest):
        transit.encrypt_data("k-rot", plaintext=PT, key_version=5)
    assert decrypt(transit, "k-rot", ct1) == PT

    rewrapped = transit.rewrap_data("k-rot", ciphertext=ct1)["data"]
    assert set(rewrapped) == {"ciphertext", "key_version"}
    assert rewrapped["key_version"] == 2 and ct_version(rewrapped["ciphertext"]) == 2
    assert decrypt(transit, "k-rot", rewrapped["ciphertext"]) == PT
    assert ct_version(transit.rewrap_data("k-rot", ciphertext=ct1, key_version=1)["data"]["ciphertext"]) == 1
    with pytest.raises(hx.InvalidRequest):
        transit.rewrap_data("k-rot", ciphertext=tamper(ct1))

    # Batch rewrap is 200 even when an item fails (§3.8).
    batch = transit.rewrap_data("k-rot", ciphertext=None,
                                batch_input=[{"ciphertext": ct1, "reference": "ok"},
                                             {"ciphertext": "foo", "reference": "bad"}])
    ok, bad = batch["data"]["batch_results"]
    assert ct_version(ok["ciphertext"]) == 2 and ok["reference"] == "ok"
    assert bad["error"] and bad["reference"] == "bad" and "ciphertext" not in bad

    with pytest.raises(hx.InvalidRequest) as excinfo:
        transit.rotate_key("nope-never-created")
    error_of(excinfo)


def test_min_versions(admin, transit):
    """T5 config: min_decryption_version hides and refuses old versions, min_encryption_version
    refuses old versions for encryption, out-of-range values are 400 (§4.4)."""
    transit.create_key("k-min")
    ct1 = encrypt(transit, "k-min")
    transit.rotate_key("k-min")
    transit.rotate_key("k-min")
    ct3 = encrypt(transit, "k-min")

    data = assert_envelope(transit.update_key_configuration("k-min", min_decryption_version=2))
    assert data["min_decryption_version"] == 2 and sorted(data["keys"]) == ["2", "3"]
    with pytest.raises(hx.InvalidRequest) as excinfo:
        decrypt(transit, "k-min", ct1)
    error_of(excinfo)
    with pytest.raises(hx.InvalidRequest):
        transit.rewrap_data("k-min", ciphertext=ct1)
    with pytest.raises(hx.InvalidRequest):
        transit.encrypt_data("k-min", plaintext=PT, key_version=1)
    assert decrypt(transit, "k-min", ct3) == PT

    data = transit.update_key_configuration("k-min", min_encryption_version=3)["data"]
    assert data["min_encryption_version"] == 3
    with pytest.raises(hx.InvalidRequest):
        transit.encrypt_data("k-min", plaintext=PT, key_version=2)
    assert ct_version(encrypt(transit, "k-min")) == 3

    for body in ({"min_decryption_version": 9}, {"min_encryption_version": 9},
                 {"min_decryption_version": 3, "min_encryption_version": 2}):
        with pytest.raises(hx.InvalidRequest) as excinfo:
            raw_post(admin, "keys/k-min/config", body)
        error_of(excinfo)

    # Lowering it again brings v1 back (0 is forced to 1 with a warning).
    resp = raw_post(admin, "keys/k-min/config", {"min_decryption_version": 0})
    assert resp["data"]["min_decryption_version"] == 1 and resp["warnings"]
    assert decrypt(transit, "k-min", ct1) == PT

    with pytest.raises(hx.InvalidRequest) as excinfo:
        transit.update_key_configuration("nope-never-created", deletion_allowed=True)
    error_of(excinfo)


# --- T10 -------------------------------------------------------------------------------------


def test_datakey(admin, transit):
    """plaintext/wrapped data keys of 128/256/512 bits; the ciphertext decrypts to the key."""
    transit.create_key("k-dk")
    for bits in (128, 256, 512):
        data = transit.generate_data_key("k-dk", key_type="plaintext", bits=bits)["data"]
        assert set(data) == {"ciphertext", "key_version", "plaintext"}
        assert len(unb64(data["plaintext"])) == bits // 8
        assert decrypt(transit, "k-dk", data["ciphertext"]) == data["plaintext"]
    data = transit.generate_data_key("k-dk", key_type="wrapped")["data"]
    assert set(data) == {"ciphertext", "key_version"}
    assert len(unb64(decrypt(transit, "k-dk", data["ciphertext"]))) == 32

    # hvac validates bits and the type locally; the server must refuse them as well.
    with pytest.raises(hx.ParamValidationError):
        transit.generate_data_key("k-dk", key_type="plaintext", bits=100)
    for path, body in (("datakey/plaintext/k-dk", {"bits": 100}), ("datakey/foo/k-dk", {}),
                       ("datakey/plaintext/nope-never-created", {})):
        with pytest.raises(hx.InvalidRequest) as excinfo:
            raw_post(admin, path, body)
        error_of(excinfo)


# --- upsert, T6 ------------------------------------------------------------------------------


def test_upsert(transit):
    """Encrypt to a missing key creates it for the admin token (§4.7)."""
    with pytest.raises(hx.InvalidPath):
        transit.read_key("k-upsert")
    ct = encrypt(transit, "k-upsert")
    assert_key_info(transit.read_key("k-upsert")["data"], "k-upsert")
    assert decrypt(transit, "k-upsert", ct) == PT
    ctx = b64("c")
    ct = encrypt(transit, "k-upsert-derived", context=ctx)
    assert transit.read_key("k-upsert-derived")["data"]["derived"] is True
    assert decrypt(transit, "k-upsert-derived", ct, context=ctx) == PT


def test_delete_key(transit):
    """T6: refused without deletion_allowed, 204 after it, then read is InvalidPath."""
    transit.create_key("k-del")
    with pytest.raises(hx.InvalidRequest) as excinfo:
        transit.delete_key("k-del")
    error_of(excinfo)
    data = transit.update_key_configuration("k-del", deletion_allowed=True)["data"]
    assert data["deletion_allowed"] is True
    resp = transit.delete_key("k-del")
    assert isinstance(resp, requests.Response) and resp.status_code == 204
    with pytest.raises(hx.InvalidPath):
        transit.read_key("k-del")
    with pytest.raises(hx.InvalidRequest):
        transit.delete_key("k-del")


def test_deleted_key_is_gone_for_good(transit):
    """Delete, re-create the same name: the old ciphertext must not decrypt. Deletion is real
    (a CryptoServe guarantee; OpenBao behaves the same)."""
    transit.create_key("k-reborn")
    old = encrypt(transit, "k-reborn")
    transit.update_key_configuration("k-reborn", deletion_allowed=True)
    transit.delete_key("k-reborn")
    transit.create_key("k-reborn")
    with pytest.raises(hx.InvalidRequest) as excinfo:
        decrypt(transit, "k-reborn", old)
    error_of(excinfo)
    assert decrypt(transit, "k-reborn", encrypt(transit, "k-reborn")) == PT


# --- a limited token -------------------------------------------------------------------------


def test_service_token(target, transit):
    """A token limited to encrypt/decrypt with `svc-allowed`: allowed there, 403 Forbidden on
    another key, on key management, and on encrypt to a missing key (no upsert)."""
    transit.create_key("svc-allowed")
    transit.create_key("svc-other")
    svc = client(target, target.service_token)
    t = svc.secrets.transit
    ct = t.encrypt_data("svc-allowed", plaintext=PT, mount_point=MOUNT)["data"]["ciphertext"]
    assert t.decrypt_data("svc-allowed", ciphertext=ct, mount_point=MOUNT)["data"]["plaintext"] == PT

    forbidden = [
        lambda: t.encrypt_data("svc-other", plaintext=PT, mount_point=MOUNT),
        lambda: t.decrypt_data("svc-other", ciphertext=ct, mount_point=MOUNT),
        lambda: t.create_key("svc-new", mount_point=MOUNT),
        lambda: t.rotate_key("svc-allowed", mount_point=MOUNT),
        lambda: t.encrypt_data("svc-missing", plaintext=PT, mount_point=MOUNT),
    ]
    for call in forbidden:
        with pytest.raises(hx.Forbidden) as excinfo:
            call()
        error_of(excinfo)
    with pytest.raises(hx.InvalidPath):
        transit.read_key("svc-missing")
