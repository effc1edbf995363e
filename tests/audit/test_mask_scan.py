"""needs_mask is true whenever mask() would change a document, so inputs it clears are stored as
they are; it may be true when nothing changes (then the document is masked as before)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from audit import mask as masking
from audit.compact import compact_json
from audit.mask import mask, needs_mask
from audit.writer import stored_input_bytes


@pytest.fixture(params=["re2", "python"], autouse=True)
def scans(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs with both scanners: RE2's (the default where google-re2 is installed) and
    the standard library's fallback."""
    if request.param == "python":
        monkeypatch.setattr(masking, "scanner", masking.python_scanner)
    return str(request.param)


def test_re2_scans_by_default(scans: str) -> None:
    """google-re2 is a dependency: its one-pass scans are the ones in use."""
    expected = "python_scanner." if scans == "python" else "scanner."
    assert masking.scanner()[0].__qualname__.startswith(expected)


def test_kelvin_sign_and_secret_keys_in_any_case_are_caught() -> None:
    assert needs_mask(compact_json({"name": "\u212aelvin"}))
    assert needs_mask(compact_json({"x": {"API_KEY": 1}}))
    assert needs_mask(compact_json([{"n": "ok"}, {"SessionId": "x"}]))
    assert not needs_mask(compact_json({"api": "v1", "author": "x", "session": {"n": 1}}))


SECRETS = [
    "-----BEGIN RSA PRIVATE KEY-----",
    "ghp_" + "a" * 30,
    "glpat-" + "b" * 22,
    "AKIA" + "C" * 16,
    "eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.c2lnbmF0dXJlMTIz",
    "https://user:hunter2@example.invalid/x",
]
PLAIN = [
    "pkg:npm/a@1",
    "a token of appreciation",
    "AKIAshort",
    "https://example.invalid/x",
    "é",
    "\t",
    "passport",
    'say "auth":',
]
KEYS = [
    "name",
    "version",
    "password",
    "apiKey",
    "client_secret",
    "PrivateKey",
    "notes",
    "sessionId",
    "author",
]


def doc(rng: random.Random, level: int = 0) -> Any:
    roll = rng.random()
    if level > 4 or roll < 0.35:
        return rng.choice(
            [*PLAIN, *PLAIN, rng.choice(["\t", "\n", " ", "x"]) + rng.choice(SECRETS), None, "", 3, [], {}]
        )
    if roll < 0.6:
        return [doc(rng, level + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(KEYS): doc(rng, level + 1) for _ in range(rng.randint(0, 3))}


@pytest.mark.parametrize("seed", range(6))
def test_needs_mask_never_misses_a_secret(seed: int) -> None:
    rng = random.Random(seed)
    cleared = masked = 0
    for _ in range(800):
        value = doc(rng)
        changes = mask(value) != value
        needed = needs_mask(compact_json(value))
        if changes:
            assert needed, value
            masked += 1
        cleared += not needed
    assert masked > 50 and cleared > 50


def test_plain_documents_are_cleared() -> None:
    value: Any
    for value in ({"name": "a", "notes": "a token of appreciation"}, [PLAIN[:-1]], {"k": []}):
        assert not needs_mask(compact_json(value)), value


def test_stored_bytes_are_the_given_text_when_nothing_is_masked() -> None:
    plain = {"sboms": [{"components": [{"name": "a", "purl": "pkg:npm/a@1"}]}]}
    text = compact_json(plain)
    assert stored_input_bytes(plain, text) is text
    secret = {"context": {"token": "abc"}, "x": 1}
    assert stored_input_bytes(secret, compact_json(secret)) == compact_json(mask(secret))
    assert b"abc" not in stored_input_bytes(secret, compact_json(secret))
