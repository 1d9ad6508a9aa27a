"""Differential test: ONE scripted sequence of raw HTTP calls, run against a real OpenBao
dev server and against CryptoServe, compared call by call.

Each call is (label, method, path, body, headers). Later calls reuse values (ciphertexts)
from earlier responses of the SAME server. Per call we compare:
* the status code;
* `Content-Type`, which must be exactly `application/json` on both (hvac compares the
  string exactly, reference §1.4);
* for an envelope: the set of top-level keys, the set of `data` keys, `warnings` null or a
  non-empty list, each batch result's key set, and the few values that are deterministic
  given the same sequence (versions, names, types, references: see `VALUES`);
* for an error body: non-empty `errors` on both (texts may differ), or `{"errors":[]}` on both;
* for other JSON objects (sys/health, seal-status, leader): the key set and a few flags.
Ciphertext bytes, request ids, timestamps and error texts may differ.

`DELIBERATE_DIFFERENCES` lists the calls where CryptoServe differs on purpose; those are run
but not compared. Every other mismatch fails the test.

`VAULT_COMPAT_DIFF_SELF=1` runs OpenBao against a second OpenBao: a check of the comparer
itself (everything must match, no CryptoServe needed).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import pytest
import requests

from conftest import MOUNT, running_openbao
from helpers import PT, b64, tamper, with_version

V = f"{MOUNT}"  # shorthand for paths below

# Calls where CryptoServe answers differently on purpose: label -> what differs and why.
# These calls still run (later calls may depend on the state they leave) but are not compared.
DELIBERATE_DIFFERENCES: dict[str, str] = {
    # We never export key material, so we refuse to create an exportable key at all.
    "create exportable k-exp": "OpenBao 200 (key created); CryptoServe 400: keys are never exportable",
    "read k-exp": "OpenBao 200; CryptoServe 404: k-exp was never created (see above)",
    "export k-exp": "OpenBao 200 with the raw key; CryptoServe 400/404: no export endpoint, key material never leaves",
    "export k-aes (not exportable)": "OpenBao 400 (not exportable); CryptoServe 400/404: no export endpoint at all",
    # OpenBao quirks the reference says not to copy.
    "encrypt bad base64 associated_data": "OpenBao 500 (a quirk, reference §4.6); CryptoServe 400: it is a user error",
    "batch_input as a JSON string": "OpenBao 500 (reference §4.5); CryptoServe 400: a malformed request is a user error",
    "batch item not an object": "OpenBao 500 (reference §4.5); CryptoServe 400: a malformed request is a user error",
    # The mount is built into CryptoServe and is the only engine it serves.
    "enable transit at the existing mount": "OpenBao 400 'path is already in use'; CryptoServe 204: the configured transit mount always exists, enabling it is an idempotent no-op",
    "enable kv engine": "OpenBao 204; CryptoServe 400: it serves only the transit engine",
}


@dataclass
class Call:
    """One request of the sequence. `body` is JSON (or a function of the values saved so far
    on this server); `raw` is sent as-is with `headers`; `auth` picks the token headers."""

    label: str
    method: str
    path: str
    body: Any = None
    raw: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    auth: str | None = "admin"  # admin | bearer | bogus | bogus+bearer | None
    save: dict[str, str] = field(default_factory=dict)  # name -> dotted path in the response
    shape: Callable[[Any], Any] | None = None  # custom comparison view of the body


# --- the sequence ----------------------------------------------------------------------------

def mounts_shape(body: dict) -> dict:
    """sys/mounts: the mount list differs (OpenBao has sys/, secret/, ...); compare the
    envelope keys, and that `transit/` is at the top level and under `data` with the same
    key set and type."""
    top = {k for k in body if not k.endswith("/")}
    data = body.get("data") or {}
    return {"top": sorted(top), "transit at top": f"{MOUNT}/" in body,
            "transit keys": sorted(data.get(f"{MOUNT}/", {})),
            "transit type": data.get(f"{MOUNT}/", {}).get("type")}


def sequence() -> list[Call]:
    """The scripted calls, in order (A.x = the matching capture in the reference)."""
    ct = lambda name: (lambda v: {"ciphertext": v[name]})  # noqa: E731
    C = Call
    return [
        # --- sys (S1-S6) and auth --------------------------------------------------------
        C("sys/health GET", "GET", "sys/health", auth=None),                      # A.1, A.178
        C("sys/health HEAD", "HEAD", "sys/health"),                               # A.2
        C("seal-status", "GET", "sys/seal-status"),                               # A.3
        C("sys/leader", "GET", "sys/leader"),                                     # bao status
        C("lookup-self", "GET", "auth/token/lookup-self"),                        # A.4
        C("lookup-self with Bearer", "GET", "auth/token/lookup-self", auth="bearer"),  # A.177
        C("lookup-self bogus token", "GET", "auth/token/lookup-self", auth="bogus"),   # A.5
        C("lookup-self no token", "GET", "auth/token/lookup-self", auth=None),
        C("sys/mounts", "GET", "sys/mounts", shape=mounts_shape),                 # A.7
        C("sys/mounts no token", "GET", "sys/mounts", auth=None),                 # A.179
        C("enable transit at the existing mount", "POST", f"sys/mounts/{MOUNT}", {"type": "transit"}),
        C("enable kv engine", "POST", "sys/mounts/kv-compat", {"type": "kv"}),
        # --- keys: create, read, list (T1-T3) --------------------------------------------
        C("list with no keys", "LIST", f"{V}/keys"),                              # A.11
        C("read missing key", "GET", f"{V}/keys/nope"),                           # A.27
        C("create k-aes", "POST", f"{V}/keys/k-aes", {"type": "aes256-gcm96"}),   # A.12
        C("create k-aes again other type", "POST", f"{V}/keys/k-aes", {"type": "chacha20-poly1305"}),  # A.14
        C("create k-chacha", "POST", f"{V}/keys/k-chacha", {"type": "chacha20-poly1305"}),
        C("create k-derived", "POST", f"{V}/keys/k-derived", {"derived": True}),
        C("create k-conv", "POST", f"{V}/keys/k-conv",
          {"convergent_encryption": True, "derived": True, "type": "aes256-gcm96"}),
        C("create k-default no body", "POST", f"{V}/keys/k-default"),             # A.19
        C("create unknown type", "POST", f"{V}/keys/k-bad", {"type": "foo"}),     # A.20
        C("create convergent without derived", "POST", f"{V}/keys/k-bad2", {"convergent_encryption": True}),
        C("create bad name a!b", "POST", f"{V}/keys/a!b", {}),                    # A.170
        C("create bad name -lead", "POST", f"{V}/keys/-lead", {}),
        C("create k-strbool CLI style", "PUT", f"{V}/keys/k-strbool",             # A.157, A.CLI
          raw=b'{"derived":"true","exportable":"false","type":"chacha20-poly1305"}'),
        C("create k-cli write -f (body null)", "PUT", f"{V}/keys/k-cli", raw=b"null"),
        C("read k-aes", "GET", f"{V}/keys/k-aes"),
        C("read k-chacha", "GET", f"{V}/keys/k-chacha"),
        C("read k-derived", "GET", f"{V}/keys/k-derived"),
        C("read k-conv", "GET", f"{V}/keys/k-conv"),
        C("read k-strbool", "GET", f"{V}/keys/k-strbool"),
        C("list LIST", "LIST", f"{V}/keys"),                                      # A.28
        C("list GET ?list=true", "GET", f"{V}/keys?list=true"),                   # A.29
        C("list LIST trailing slash", "LIST", f"{V}/keys/"),                      # A.173
        C("plain GET keys", "GET", f"{V}/keys"),                                  # A.30
        # --- encrypt (T7) -----------------------------------------------------------------
        C("encrypt k-aes", "POST", f"{V}/encrypt/k-aes", {"plaintext": PT}, save={"ct_aes": "data.ciphertext"}),
        C("encrypt k-aes aad", "POST", f"{V}/encrypt/k-aes", {"plaintext": PT, "associated_data": b64("aad-1")},
          save={"ct_aes_aad": "data.ciphertext"}),
        C("encrypt k-chacha", "POST", f"{V}/encrypt/k-chacha", {"plaintext": PT}, save={"ct_chacha": "data.ciphertext"}),
        C("encrypt k-chacha aad", "POST", f"{V}/encrypt/k-chacha", {"plaintext": PT, "associated_data": b64("aad-1")}),
        C("encrypt bad base64", "POST", f"{V}/encrypt/k-aes", {"plaintext": "!!bad!!"}),       # A.35
        C("encrypt unpadded base64", "POST", f"{V}/encrypt/k-aes", {"plaintext": "aGVsbG8"}),  # A.36
        C("encrypt urlsafe base64", "POST", f"{V}/encrypt/k-aes", {"plaintext": "-_-_"}),      # A.37
        C("encrypt empty plaintext", "POST", f"{V}/encrypt/k-aes", {"plaintext": ""}),         # A.38
        C("encrypt missing plaintext", "POST", f"{V}/encrypt/k-aes", {}),                      # A.39
        C("encrypt embedded newlines", "POST", f"{V}/encrypt/k-aes", {"plaintext": "aGVsbG8g\nd29ybGQ=\n"}),
        C("encrypt non-canonical trailing bits", "POST", f"{V}/encrypt/k-aes", {"plaintext": "aGVsbG9="}),
        C("encrypt surrounding spaces", "POST", f"{V}/encrypt/k-aes", {"plaintext": " aGVsbG8= "}),
        C("encrypt key_version=5", "POST", f"{V}/encrypt/k-aes", {"plaintext": PT, "key_version": 5}),
        C("encrypt empty associated_data", "POST", f"{V}/encrypt/k-chacha", {"plaintext": PT, "associated_data": ""}),
        C("encrypt bad base64 associated_data", "POST", f"{V}/encrypt/k-chacha", {"plaintext": PT, "associated_data": "!!"}),
        C("encrypt key_version '1' string", "POST", f"{V}/encrypt/k-chacha", {"plaintext": PT, "key_version": "1"}),
        C("encrypt key_version 'abc'", "POST", f"{V}/encrypt/k-chacha", {"plaintext": PT, "key_version": "abc"}),
        C("encrypt unknown field", "POST", f"{V}/encrypt/k-aes", {"plaintext": PT, "bogus_field": 1}),  # A.143
        C("encrypt malformed JSON", "POST", f"{V}/encrypt/k-aes", raw=b"{not json",
          headers={"Content-Type": "application/json"}),                          # A.142
        C("encrypt no body", "POST", f"{V}/encrypt/k-chacha", raw=b""),           # A.174
        C("encrypt form-encoded", "POST", f"{V}/encrypt/k-chacha", raw=b"plaintext=aGVsbG8gd29ybGQ%3D",
          headers={"Content-Type": "application/x-www-form-urlencoded"}),         # A.175
        C("encrypt PUT (CLI style)", "PUT", f"{V}/encrypt/k-aes", raw=b'{"plaintext":"aGkgY2xp"}'),  # A.139
        C("GET on encrypt path", "GET", f"{V}/encrypt/k-aes"),                    # A.138
        C("unknown path in mount", "POST", f"{V}/nope/x", {}),                    # A.140
        C("unknown mount", "POST", "nomount/encrypt/x", {"plaintext": PT}),       # A.141
        C("encrypt no token", "POST", f"{V}/encrypt/k-chacha", {"plaintext": PT}, auth=None),      # A.127
        C("encrypt bogus token", "POST", f"{V}/encrypt/k-chacha", {"plaintext": PT}, auth="bogus"),  # A.128
        C("encrypt Bearer admin", "POST", f"{V}/encrypt/k-chacha", {"plaintext": PT}, auth="bearer"),  # A.129
        C("encrypt X-Vault-Token bogus + Bearer admin", "POST", f"{V}/encrypt/k-chacha", {"plaintext": PT},
          auth="bogus+bearer"),                                                   # A.176
        # --- upsert (§4.7) ---------------------------------------------------------------
        C("encrypt k-upsert (upsert)", "POST", f"{V}/encrypt/k-upsert", {"plaintext": PT}),  # A.41
        C("read k-upsert", "GET", f"{V}/keys/k-upsert"),
        C("encrypt k-upsert2 with context (upsert derived)", "POST", f"{V}/encrypt/k-upsert2",
          {"plaintext": PT, "context": b64("c")}),                                # A.43
        C("read k-upsert2", "GET", f"{V}/keys/k-upsert2"),
        C("encrypt k-upsert3 typed chacha (upsert)", "POST", f"{V}/encrypt/k-upsert3",
          {"plaintext": PT, "type": "chacha20-poly1305"}),                        # A.45
        C("read k-upsert3", "GET", f"{V}/keys/k-upsert3"),
        C("batch encrypt k-upsert-batch (upsert)", "POST", f"{V}/encrypt/k-upsert-batch",
          {"plaintext": None, "batch_input": [{"plaintext": PT}]}),               # A.167
        # --- derived and convergent (§4.1, §4.2) ----------------------------------------------
        C("encrypt k-derived no context", "POST", f"{V}/encrypt/k-derived", {"plaintext": PT}),
        C("encrypt k-derived context", "POST", f"{V}/encrypt/k-derived", {"plaintext": PT, "context": b64("user-42")},
          save={"ct_der": "data.ciphertext"}),
        C("encrypt k-derived bad base64 context", "POST", f"{V}/encrypt/k-derived", {"plaintext": PT, "context": "!!"}),
        C("decrypt k-derived no context", "POST", f"{V}/decrypt/k-derived", ct("ct_der")),
        C("decrypt k-derived right context", "POST", f"{V}/decrypt/k-derived",
          lambda v: {"ciphertext": v["ct_der"], "context": b64("user-42")}),
        C("decrypt k-derived wrong context", "POST", f"{V}/decrypt/k-derived",
          lambda v: {"ciphertext": v["ct_der"], "context": b64("user-43")}),
        C("encrypt k-aes with ignored context", "POST", f"{V}/encrypt/k-aes", {"plaintext": PT, "context": b64("x")}),
        C("encrypt k-conv #1", "POST", f"{V}/encrypt/k-conv", {"plaintext": PT, "context": b64("ctx")}),
        C("encrypt k-conv #2 same", "POST", f"{V}/encrypt/k-conv", {"plaintext": PT, "context": b64("ctx")}),
        C("encrypt k-conv other context", "POST", f"{V}/encrypt/k-conv", {"plaintext": PT, "context": b64("ctx2")}),
        C("encrypt k-conv no context", "POST", f"{V}/encrypt/k-conv", {"plaintext": PT}),
        # --- decrypt (T8) ------------------------------------------------------------------
        C("decrypt k-aes", "POST", f"{V}/decrypt/k-aes", ct("ct_aes")),
        C("decrypt k-aes right aad", "POST", f"{V}/decrypt/k-aes",
          lambda v: {"ciphertext": v["ct_aes_aad"], "associated_data": b64("aad-1")}),
        C("decrypt k-aes missing aad", "POST", f"{V}/decrypt/k-aes", ct("ct_aes_aad")),
        C("decrypt tampered", "POST", f"{V}/decrypt/k-aes", lambda v: {"ciphertext": tamper(v["ct_aes"])}),
        C("decrypt no prefix", "POST", f"{V}/decrypt/k-aes", {"ciphertext": "foo"}),
        C("decrypt bad version vX", "POST", f"{V}/decrypt/k-aes", {"ciphertext": "vault:vX:AAAA"}),
        C("decrypt version v9", "POST", f"{V}/decrypt/k-aes", lambda v: {"ciphertext": with_version(v["ct_aes"], 9)}),
        C("decrypt bad base64 payload", "POST", f"{V}/decrypt/k-aes", {"ciphertext": "vault:v1:!!!!"}),
        C("decrypt short payload", "POST", f"{V}/decrypt/k-aes", {"ciphertext": "vault:v1:AAAA"}),
        C("decrypt k-aes ciphertext on k-chacha", "POST", f"{V}/decrypt/k-chacha", ct("ct_aes")),
        C("decrypt unknown key", "POST", f"{V}/decrypt/nope", ct("ct_aes")),
        C("decrypt missing ciphertext", "POST", f"{V}/decrypt/k-aes", {}),
        # --- batch (§4.5) --------------------------------------------------------------------
        C("batch encrypt good with references", "POST", f"{V}/encrypt/k-aes",
          {"plaintext": None, "batch_input": [{"plaintext": b64("one"), "reference": "r1"},
                                              {"plaintext": b64("two"), "reference": "r2"},
                                              {"plaintext": b64("three")}]},
          save={"b1": "data.batch_results.0.ciphertext", "b2": "data.batch_results.1.ciphertext"}),
        C("batch encrypt one bad", "POST", f"{V}/encrypt/k-aes",
          {"plaintext": None, "batch_input": [{"plaintext": PT, "reference": "r1"}, {"plaintext": "!!bad", "reference": "r2"}]}),
        C("batch encrypt all bad", "POST", f"{V}/encrypt/k-aes",
          {"plaintext": None, "batch_input": [{"plaintext": "!!bad!!", "reference": "r1"}, {"plaintext": "%%"}]}),
        C("batch encrypt one bad 207", "POST", f"{V}/encrypt/k-aes",
          {"batch_input": [{"plaintext": PT}, {"plaintext": "!!bad"}], "partial_failure_response_code": 207}),
        C("batch encrypt empty list", "POST", f"{V}/encrypt/k-aes", {"plaintext": None, "batch_input": []}),
        C("batch encrypt key_version per item", "POST", f"{V}/encrypt/k-aes",
          {"plaintext": None, "batch_input": [{"plaintext": b64("one"), "key_version": 1},
                                              {"plaintext": b64("two"), "key_version": 7}]}),
        C("batch encrypt top-level plaintext ignored", "POST", f"{V}/encrypt/k-aes",
          {"plaintext": "dG9w", "batch_input": [{"plaintext": "aXRlbQ=="}]}),
        C("batch encrypt aad per item", "POST", f"{V}/encrypt/k-aes",
          {"plaintext": None, "batch_input": [{"plaintext": PT, "associated_data": b64("a1")},
                                              {"plaintext": PT, "associated_data": b64("a2")}]}),
        C("batch item unknown field", "POST", f"{V}/encrypt/k-chacha", {"batch_input": [{"plaintext": PT, "bogus": 1}]}),
        C("batch_input as a JSON string", "POST", f"{V}/encrypt/k-chacha",
          {"batch_input": json.dumps([{"plaintext": PT}])}),
        C("batch item not an object", "POST", f"{V}/encrypt/k-chacha", {"batch_input": ["x"]}),
        C("batch decrypt good", "POST", f"{V}/decrypt/k-aes",
          lambda v: {"ciphertext": None, "batch_input": [{"ciphertext": v["b1"], "reference": "r1"},
                                                         {"ciphertext": v["b2"], "reference": "r2"}]}),
        C("batch decrypt one tampered", "POST", f"{V}/decrypt/k-aes",
          lambda v: {"ciphertext": None, "batch_input": [{"ciphertext": v["b1"], "reference": "r1"},
                                                         {"ciphertext": tamper(v["b2"]), "reference": "r2"}]}),
        C("batch decrypt all bad", "POST", f"{V}/decrypt/k-aes",
          {"ciphertext": None, "batch_input": [{"ciphertext": "foo"}, {"ciphertext": "vault:v1:AAAA"}]}),
        C("batch decrypt one bad 207", "POST", f"{V}/decrypt/k-aes",
          lambda v: {"batch_input": [{"ciphertext": "foo"}, {"ciphertext": v["b1"]}], "partial_failure_response_code": 207}),
        C("batch encrypt k-derived per-item context", "POST", f"{V}/encrypt/k-derived",
          {"plaintext": None, "batch_input": [{"plaintext": "YQ==", "context": "YzE=", "reference": "ok"},
                                              {"plaintext": "Yg==", "context": "YzI=", "reference": "bad"}]},
          save={"bd1": "data.batch_results.0.ciphertext", "bd2": "data.batch_results.1.ciphertext"}),
        C("batch encrypt k-derived one missing context", "POST", f"{V}/encrypt/k-derived",
          {"plaintext": None, "batch_input": [{"plaintext": "YQ==", "context": "YzE=", "reference": "x"},
                                              {"plaintext": "Yg==", "reference": "y"}]}),  # A.79
        C("batch encrypt k-derived top-level context only", "POST", f"{V}/encrypt/k-derived",
          {"plaintext": None, "context": b64("user-42"), "batch_input": [{"plaintext": "YQ=="}]}),  # A.80
        C("batch decrypt k-derived one wrong context", "POST", f"{V}/decrypt/k-derived",
          lambda v: {"ciphertext": None, "batch_input": [{"ciphertext": v["bd1"], "context": "YzE=", "reference": "ok"},
                                                         {"ciphertext": v["bd2"], "context": "eno=", "reference": "bad"}]}),
        C("batch decrypt k-derived one missing context", "POST", f"{V}/decrypt/k-derived",
          lambda v: {"ciphertext": None, "batch_input": [{"ciphertext": v["bd1"], "context": "YzE="},
                                                         {"ciphertext": v["bd2"]}]}),
        # --- rotate, key_version, rewrap (T4, T9) --------------------------------------------
        C("rotate k-aes", "POST", f"{V}/keys/k-aes/rotate"),                      # A.82
        C("rotate k-cli CLI style (body null)", "PUT", f"{V}/keys/k-cli/rotate", raw=b"null"),
        C("read k-aes after rotate", "GET", f"{V}/keys/k-aes"),
        C("encrypt k-aes after rotate", "POST", f"{V}/encrypt/k-aes", {"plaintext": PT}),
        C("encrypt k-aes key_version=1", "POST", f"{V}/encrypt/k-aes", {"plaintext": PT, "key_version": 1}),
        C("encrypt k-aes key_version=0", "POST", f"{V}/encrypt/k-aes", {"plaintext": PT, "key_version": 0}),
        C("decrypt v1 after rotate", "POST", f"{V}/decrypt/k-aes", ct("ct_aes")),
        C("rewrap v1 to latest", "POST", f"{V}/rewrap/k-aes", ct("ct_aes"), save={"ct_aes_v2": "data.ciphertext"}),
        C("rewrap v1 to key_version=1", "POST", f"{V}/rewrap/k-aes", lambda v: {"ciphertext": v["ct_aes"], "key_version": 1}),
        C("rewrap tampered", "POST", f"{V}/rewrap/k-aes", lambda v: {"ciphertext": tamper(v["ct_aes"])}),
        C("rewrap batch one bad", "POST", f"{V}/rewrap/k-aes",
          lambda v: {"ciphertext": None, "batch_input": [{"ciphertext": v["ct_aes"], "reference": "r1"},
                                                         {"ciphertext": "foo", "reference": "r2"}]}),
        C("rewrap batch all bad", "POST", f"{V}/rewrap/k-chacha",
          {"ciphertext": None, "batch_input": [{"ciphertext": "foo"}, {"ciphertext": "vault:v1:AAAA"}]}),
        C("rewrap derived with context", "POST", f"{V}/rewrap/k-derived",
          lambda v: {"ciphertext": v["ct_der"], "context": b64("user-42")}),
        C("rewrap derived no context", "POST", f"{V}/rewrap/k-derived", ct("ct_der")),
        C("rotate unknown key", "POST", f"{V}/keys/nope/rotate"),                 # A.94
        # --- config: min versions (T5, §4.4) -------------------------------------------------
        C("config min_decryption_version=2", "POST", f"{V}/keys/k-aes/config", {"min_decryption_version": 2}),
        C("read k-aes after min_decryption_version=2", "GET", f"{V}/keys/k-aes"),
        C("decrypt v1 below min_decryption_version", "POST", f"{V}/decrypt/k-aes", ct("ct_aes")),
        C("rewrap v1 below min_decryption_version", "POST", f"{V}/rewrap/k-aes", ct("ct_aes")),
        C("batch decrypt v1 item below min", "POST", f"{V}/decrypt/k-aes",
          lambda v: {"ciphertext": None, "batch_input": [{"ciphertext": v["ct_aes"]}, {"ciphertext": v["ct_aes_v2"]}]}),
        C("encrypt key_version=1 below min_decryption_version", "POST", f"{V}/encrypt/k-aes",
          {"plaintext": PT, "key_version": 1}),
        C("rotate k-aes to v3", "POST", f"{V}/keys/k-aes/rotate"),
        C("config min_encryption_version=3", "POST", f"{V}/keys/k-aes/config", {"min_encryption_version": 3}),
        C("encrypt key_version=2 below min_encryption_version", "POST", f"{V}/encrypt/k-aes",
          {"plaintext": PT, "key_version": 2}),
        C("config min_enc 2 < min_dec 3", "POST", f"{V}/keys/k-aes/config",
          {"min_decryption_version": 3, "min_encryption_version": 2}),
        C("config min_decryption_version=9", "POST", f"{V}/keys/k-aes/config", {"min_decryption_version": 9}),
        C("config min_encryption_version=9", "POST", f"{V}/keys/k-aes/config", {"min_encryption_version": 9}),
        C("config min_decryption_version=0 (forced to 1, warning)", "POST", f"{V}/keys/k-aes/config",
          {"min_decryption_version": 0}),
        C("config unknown key", "POST", f"{V}/keys/nope/config", {"deletion_allowed": True}),
        C("read k-aes after config", "GET", f"{V}/keys/k-aes"),
        C("decrypt v1 after lowering min", "POST", f"{V}/decrypt/k-aes", ct("ct_aes")),
        # --- datakey (T10) -------------------------------------------------------------------
        C("datakey plaintext default bits", "POST", f"{V}/datakey/plaintext/k-chacha", {},
          save={"dk_ct": "data.ciphertext"}),
        C("decrypt datakey ciphertext", "POST", f"{V}/decrypt/k-chacha", ct("dk_ct")),
        C("datakey wrapped", "POST", f"{V}/datakey/wrapped/k-chacha", {}),
        C("datakey bits=128", "POST", f"{V}/datakey/plaintext/k-chacha", {"bits": 128}),
        C("datakey bits=512", "POST", f"{V}/datakey/plaintext/k-chacha", {"bits": 512}),
        C("datakey bits '128' string", "POST", f"{V}/datakey/plaintext/k-chacha", {"bits": "128"}),
        C("datakey CLI style", "PUT", f"{V}/datakey/plaintext/k-cli", raw=b'{"bits":"128"}'),
        C("datakey bits=100", "POST", f"{V}/datakey/plaintext/k-chacha", {"bits": 100}),
        C("datakey type foo", "POST", f"{V}/datakey/foo/k-chacha", {}),
        C("datakey derived no context", "POST", f"{V}/datakey/plaintext/k-derived", {}),
        C("datakey derived with context", "POST", f"{V}/datakey/wrapped/k-derived", {"context": b64("user-42")}),
        C("datakey unknown key", "POST", f"{V}/datakey/plaintext/nope", {}),
        # --- export (deliberately absent on CryptoServe) -------------------------------------
        # Late in the sequence, so that the refused k-exp does not change the lists above.
        C("create exportable k-exp", "POST", f"{V}/keys/k-exp", {"exportable": True}),  # A.18
        C("read k-exp", "GET", f"{V}/keys/k-exp"),
        C("encrypt k-exp (upsert on CryptoServe)", "POST", f"{V}/encrypt/k-exp", {"plaintext": PT}),
        C("export k-exp", "GET", f"{V}/export/encryption-key/k-exp"),
        C("export k-aes (not exportable)", "GET", f"{V}/export/encryption-key/k-aes"),
        # --- delete (T6) ---------------------------------------------------------------------
        C("delete without deletion_allowed", "DELETE", f"{V}/keys/k-default"),    # A.120
        C("config deletion_allowed=true", "POST", f"{V}/keys/k-default/config", {"deletion_allowed": True}),
        C("delete k-default", "DELETE", f"{V}/keys/k-default"),                   # A.122
        C("read deleted k-default", "GET", f"{V}/keys/k-default"),                # A.123
        C("delete unknown key", "DELETE", f"{V}/keys/nope"),                      # A.124
        C("list after delete", "GET", f"{V}/keys?list=true"),
    ]


# --- running and comparing -------------------------------------------------------------------


@dataclass
class Server:
    name: str
    addr: str
    token: str


@dataclass
class Observed:
    status: int
    content_type: str | None
    view: Any  # what is compared (see `view`)


def dig(body: Any, dotted: str) -> Any:
    """`data.batch_results.0.ciphertext` -> the value, or None if absent."""
    for part in dotted.split("."):
        if isinstance(body, list) and part.isdigit() and int(part) < len(body):
            body = body[int(part)]
        elif isinstance(body, dict) and part in body:
            body = body[part]
        else:
            return None
    return body


def auth_headers(mode: str | None, token: str) -> dict[str, str]:
    return {
        None: {},
        "admin": {"X-Vault-Token": token},
        "bearer": {"Authorization": f"Bearer {token}"},
        "bogus": {"X-Vault-Token": "bogus"},
        "bogus+bearer": {"X-Vault-Token": "bogus", "Authorization": f"Bearer {token}"},
    }[mode]


def send(server: Server, call: Call, saved: dict[str, Any]) -> requests.Response:
    """One request exactly as described: JSON via requests (Content-Type application/json,
    like hvac), or raw bytes with only the given headers (like the CLI or curl)."""
    headers = {**auth_headers(call.auth, server.token), **call.headers}
    url = f"{server.addr}/v1/{call.path}"
    kwargs: dict[str, Any] = {"headers": headers, "timeout": 15, "allow_redirects": False}
    if call.raw is not None:
        kwargs["data"] = call.raw
    elif call.body is not None:
        kwargs["json"] = call.body(saved) if callable(call.body) else call.body
    return requests.request(call.method, url, **kwargs)


# Values that are the same on both servers given the same sequence.
VALUES = ("name", "type", "derived", "exportable", "deletion_allowed", "convergent_encryption",
          "kdf", "latest_version", "min_decryption_version", "min_encryption_version", "key_version")
TOP_VALUES = ("initialized", "sealed", "ha_enabled")
ENVELOPE = {"request_id", "lease_id", "renewable", "lease_duration", "data", "wrap_info", "warnings", "auth"}


def view(call: Call, text: str) -> Any:
    """The comparable view of a response body (see the module docstring)."""
    if text == "":
        return "empty body"
    try:
        body = json.loads(text)
    except ValueError:
        return "not JSON"
    if call.shape is not None:
        return call.shape(body)
    if not isinstance(body, dict):
        return f"JSON {type(body).__name__}"
    if set(body) == {"errors"}:
        errors = body["errors"]
        if errors == []:
            return {"errors": "[]"}
        ok = isinstance(errors, list) and all(isinstance(e, str) and e for e in errors)
        return {"errors": "non-empty list of strings" if ok else f"malformed: {errors!r}"}
    if "request_id" in body:
        data = body.get("data")
        out: dict[str, Any] = {"top": sorted(body),
                               "warnings": "null" if body.get("warnings") is None else
                               ("non-empty list" if body["warnings"] else "empty list")}
        if isinstance(data, dict):
            out["data keys"] = sorted(data)
            out["data values"] = {k: data[k] for k in VALUES if k in data}
            if isinstance(data.get("keys"), dict):
                out["key versions"] = sorted(data["keys"], key=int)
            elif isinstance(data.get("keys"), list):
                out["key names"] = data["keys"]
            if isinstance(data.get("batch_results"), list):
                out["batch"] = [
                    {"keys": sorted(item), **{k: item[k] for k in ("reference", "key_version") if k in item}}
                    if isinstance(item, dict) else repr(item)
                    for item in data["batch_results"]
                ]
        else:
            out["data"] = repr(data)
        return out
    return {"top": sorted(body), **{k: body[k] for k in TOP_VALUES if k in body}}


def run(server: Server, calls: list[Call]) -> Iterator[Observed]:
    """Run the sequence on one server, saving values for later calls of that server."""
    saved: dict[str, Any] = {}
    for call in calls:
        resp = send(server, call, saved)
        text = resp.text
        for name, dotted in call.save.items():
            try:
                saved[name] = dig(json.loads(text), dotted)
            except ValueError:
                saved[name] = None
        yield Observed(resp.status_code, resp.headers.get("Content-Type"), view(call, text))


def compare(a: Observed, b: Observed) -> list[str]:
    """Differences between two observations of one call (empty = match)."""
    problems = []
    if a.status != b.status:
        problems.append(f"status {a.status} vs {b.status}")
    for who, obs in (("A", a), ("B", b)):
        if obs.content_type != "application/json":
            problems.append(f"{who} Content-Type {obs.content_type!r}, want exactly 'application/json'")
    if a.view != b.view:
        problems.append(f"body\n      A: {a.view}\n      B: {b.view}")
    return problems


# --- the test --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def other(request: pytest.FixtureRequest) -> Iterator[Server]:
    """The server compared with OpenBao: CryptoServe, or with VAULT_COMPAT_DIFF_SELF=1 a
    second OpenBao (a check of the comparer: everything must match)."""
    if os.environ.get("VAULT_COMPAT_DIFF_SELF"):
        with running_openbao() as bao:
            yield Server("openbao#2", bao.addr, bao.token)
    else:
        cs = request.getfixturevalue("cryptoserve")
        yield Server("cryptoserve", cs.addr, cs.admin_token)


def test_differential(openbao, other, capsys):
    calls = sequence()
    labels = [c.label for c in calls]
    assert len(labels) == len(set(labels)), "labels must be unique"
    assert set(DELIBERATE_DIFFERENCES) <= set(labels), set(DELIBERATE_DIFFERENCES) - set(labels)
    self_check = other.name.startswith("openbao")

    a_obs = list(run(Server("openbao", openbao.addr, openbao.token), calls))
    b_obs = list(run(other, calls))

    matched, deliberate, mismatches, stale = 0, 0, [], []
    for call, a, b in zip(calls, a_obs, b_obs):
        problems = compare(a, b)
        if call.label in DELIBERATE_DIFFERENCES and not self_check:
            deliberate += 1
            if not problems:
                stale.append(call.label)
            continue
        if problems:
            mismatches.append(f"  {call.method} /v1/{call.path} [{call.label}]: " + "; ".join(problems))
        else:
            matched += 1

    with capsys.disabled():  # the summary is shown even when the test passes quietly
        print(f"\ndifferential: {len(calls)} calls, {matched} matched, "
              f"{deliberate} deliberate differences (openbao vs {other.name})")
        for label in stale:
            print(f"  note: deliberate difference '{label}' matched this time")
    assert not mismatches, f"{len(mismatches)} calls differ (A = openbao, B = {other.name}):\n" + "\n".join(mismatches)
