"""Graph errors sorted by what to do: retry later, or give up and tell staff why."""

from __future__ import annotations

import pytest

from bot.graph import (
    OutsideWindow,
    PermanentSendError,
    PermissionMissing,
    RateLimited,
    RecipientUnavailable,
    TokenInvalid,
    TransientSendError,
    classify,
)
from tests.support.payloads import fixture_json


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (400, fixture_json("error_whatsapp_131047"), OutsideWindow),
        (400, fixture_json("error_messenger_outside_window"), OutsideWindow),
        (429, fixture_json("error_rate_limit"), RateLimited),
        (400, fixture_json("error_pair_rate_limit"), RateLimited),
        (401, fixture_json("error_token_expired"), TokenInvalid),
        (400, {"error": {"code": 131026}}, RecipientUnavailable),
        (403, {"error": {"code": 200}}, PermissionMissing),
        (400, {"error": {"code": 131000}}, TransientSendError),
        (400, {"error": {"code": 9999, "is_transient": True}}, TransientSendError),
        (503, {}, TransientSendError),
        (502, "<html>bad gateway</html>", TransientSendError),
        (429, {}, RateLimited),
        (400, {"error": {"code": 100, "message": "Invalid parameter"}}, PermanentSendError),
        (400, {"error": "weird"}, PermanentSendError),
    ],
)
def test_errors_are_classified_by_code_not_text(status: int, body: object, expected: type) -> None:
    """Meta's wording changes; codes do not. Each code lands in the class that says what to do."""
    error = classify(status, body)
    assert type(error) is expected
    assert error.transient is issubclass(expected, TransientSendError)
