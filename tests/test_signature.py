"""X-Hub-Signature-256: the README's test vector and every way a header can be wrong.

Decision on letter case: Meta sends `sha256=` plus 64 *lowercase* hex digits (PLATFORM.md §1.2), and
`verify` compares against exactly that canonical form, so an uppercase prefix or uppercase hex is refused.
Nothing legitimate sends those, and a single canonical form keeps the comparison a plain constant-time
byte compare.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.signature import sign, verify

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "meta"
SECRET = "test_app_secret_do_not_use"
RAW = (FIXTURES / "whatsapp_text.json").read_bytes()
EXPECTED = "sha256=83dd36cc5e061649194d3617a5ccba55f83fa0902da276600d79ee632fbe5147"


def test_readme_vector_signs_the_exact_fixture_bytes() -> None:
    """The documented vector pins our HMAC to Meta's: raw bytes of the committed file, app secret as key."""
    assert len(RAW) == 1033
    assert sign(RAW, SECRET) == EXPECTED


def test_readme_vector_verifies() -> None:
    """A genuine Meta header for the raw body is accepted."""
    assert verify(RAW, EXPECTED, [SECRET])


def test_reserialised_json_does_not_verify() -> None:
    """Verifying over json.dumps(parsed) instead of the raw body is the classic bug: it must fail."""
    compact = json.dumps(json.loads(RAW), separators=(",", ":")).encode()

    assert sign(compact, SECRET).startswith("sha256=9ede6b33")
    assert not verify(compact, EXPECTED, [SECRET])
    assert not verify(json.dumps(json.loads(RAW)).encode(), EXPECTED, [SECRET])


def test_one_changed_byte_does_not_verify() -> None:
    """A body altered in transit (or by an attacker) must be refused even with a valid-looking header."""
    tampered = RAW.replace(b"Tuesday", b"Thursday")
    assert not verify(tampered, EXPECTED, [SECRET])


@pytest.mark.parametrize("header", [None, ""], ids=["missing", "empty"])
def test_missing_header_does_not_verify(header: str | None) -> None:
    """An unsigned POST is never trusted."""
    assert not verify(RAW, header, [SECRET])


@pytest.mark.parametrize(
    "header",
    [
        EXPECTED.removeprefix("sha256="),
        "sha1=" + EXPECTED.removeprefix("sha256="),
        "sha512=" + EXPECTED.removeprefix("sha256="),
        "sha256:" + EXPECTED.removeprefix("sha256="),
        "sha256=",
        "sha256",
    ],
    ids=["bare hex", "sha1 prefix", "sha512 prefix", "colon", "prefix only", "no equals"],
)
def test_wrong_or_missing_prefix_does_not_verify(header: str) -> None:
    """Only `sha256=<hex>` is a signature; the right digest under another label is still refused."""
    assert not verify(RAW, header, [SECRET])


def test_wrong_secret_does_not_verify() -> None:
    """A signature made with another app's secret is refused."""
    assert not verify(RAW, sign(RAW, "some_other_secret"), [SECRET])
    assert not verify(RAW, EXPECTED, ["some_other_secret"])


@pytest.mark.parametrize(
    "header", [EXPECTED[:-1], EXPECTED[:-32], EXPECTED + "0", EXPECTED + EXPECTED[7:]], ids=str
)
def test_truncated_or_extended_hex_does_not_verify(header: str) -> None:
    """A prefix or extension of the right digest is not the digest (no prefix matching)."""
    assert not verify(RAW, header, [SECRET])


@pytest.mark.parametrize(
    "header",
    ["sha256=" + EXPECTED.removeprefix("sha256=").upper(), "SHA256=" + EXPECTED.removeprefix("sha256=")],
    ids=["uppercase hex", "uppercase prefix"],
)
def test_uppercase_variants_are_refused(header: str) -> None:
    """Decided (see module docstring): only Meta's canonical lowercase form verifies."""
    assert not verify(RAW, header, [SECRET])


def test_surrounding_whitespace_is_tolerated() -> None:
    """Whitespace around a header value is not part of it (RFC 9110), so it must not fail a real delivery."""
    assert verify(RAW, f"  {EXPECTED}\t", [SECRET])


@pytest.mark.parametrize(
    "header",
    ["sha256=é" + EXPECTED[8:], "sha256=" + "ü" * 64, "sha256=\u200b" + EXPECTED[7:], "🔑", "sha256=\udcff"],
    ids=["accented", "all non-ascii", "zero width space", "emoji", "lone surrogate"],
)
def test_non_ascii_header_returns_false_without_raising(header: str) -> None:
    """compare_digest raises TypeError on non-ASCII str; a hostile probe must get a 403, not a 500."""
    assert verify(RAW, header, [SECRET]) is False


def test_no_secrets_never_verifies() -> None:
    """With no secret configured nothing is trusted, rather than everything."""
    assert not verify(RAW, EXPECTED, [])


def test_empty_secret_never_verifies() -> None:
    """An empty secret is a misconfiguration: anyone can HMAC with the empty key, so it never counts."""
    assert not verify(RAW, sign(RAW, ""), [""])
    assert not verify(RAW, sign(RAW, ""), ["", SECRET])


def test_any_of_several_secrets_verifies() -> None:
    """Instagram may sign with its own app secret, so a list of candidates is accepted (in any order)."""
    assert verify(RAW, EXPECTED, ["instagram_secret", SECRET])
    assert verify(RAW, EXPECTED, iter(["", SECRET, "instagram_secret"]))


@settings(max_examples=300, deadline=None, database=None)
@given(header=st.text(max_size=80), secret=st.text(min_size=1, max_size=20))
def test_arbitrary_headers_never_raise_and_never_verify(header: str, secret: str) -> None:
    """Whatever string arrives in the header, verify answers a bool and accepts only the real signature."""
    result = verify(RAW, header, [secret])
    assert result is (header.strip() == sign(RAW, secret))
