"""Why a send failed, in plain words: Meta's error codes (and subcodes), and trouble on the way to Meta.

Each reason has a short key, for log lines and for programs (`reason=token_expired`), and words a
receptionist can act on, stored with the failed message and shown (translated) in the staff app. Meta's
own wording changes and is not for clients' eyes; codes do not change (PLATFORM.md §3.8). Retrying or
not is bot/graph.py's business; this module only says why.
"""

from __future__ import annotations

# key -> words. The staff app translates the words (templates/web/da/send_failures.json).
REASONS: dict[str, str] = {
    # the 24-hour window
    "window_closed": "More than 24 hours since the client wrote: only an approved template can be sent.",
    "window_closed_tag": "More than 24 hours since the client wrote: Meta allows only a tagged message now.",
    # the client
    "whatsapp_undeliverable": "This number cannot get WhatsApp messages (not on WhatsApp, an old app, or "
    "WhatsApp's terms not accepted).",
    "unreachable": "The client cannot be reached on this channel (not on it any more, or it blocks us).",
    "user_unavailable": "The client is not available on this channel right now (Meta says so).",
    "not_a_test_number": "The number is not among the app's test numbers (the app is in development mode).",
    "opted_out_marketing": "The client has stopped marketing messages from the business.",
    # the channel's access
    "token_expired": "The channel's access token has expired: connect the channel again.",
    "token_invalid": (
        "The channel's access token has expired or was revoked: the channel must be connected again."
    ),
    "password_changed": "The channel's access ended when the account's password changed: connect it again.",
    "app_removed": "Jola was removed from the account on Meta: connect the channel again.",
    "permission_missing": "Meta refused: the app lacks a permission for this channel.",
    "page_restricted": "Meta has restricted the Page from sending messages for now.",
    "blocked": "Meta has blocked the account from sending for now, for a policy reason.",
    "account_locked": "Meta has locked the WhatsApp Business account: nothing goes out until it is unlocked.",
    "spam_restricted": "Meta restricts sending from this number after spam reports; check its quality.",
    # the message
    "template_missing": "The template does not exist in this language: check its name and language.",
    "template_params": "The template's values do not match the approved template (their number or format).",
    "template_paused": "Meta paused or disabled the template for low quality.",
    "invalid_parameter": "Meta refused the message as malformed (a value is invalid or missing).",
    "unsupported_type": "Meta does not support this kind of message.",
    "media_failed": "Meta could not fetch or upload the media.",
    "held_back": "Meta held it back to keep clients from getting too many business messages; try later.",
    # slow down, try again
    "rate_limited": "Meta asked us to slow down, and the message could not go out in time.",
    "pair_rate_limited": "Too many messages to this client in a short time: Meta asked us to wait.",
    "meta_unavailable": "Meta had a passing problem, and the message could not go out in time.",
    "server_error": "Meta's servers answered with an error, and the message could not go out in time.",
    # on the way to Meta
    "network_refused": "Meta could not be reached: the connection was refused.",
    "network_timeout": "Meta did not answer in time.",
    "network_tls": "No secure connection to Meta could be made.",
    "network": "Meta could not be reached; it was tried several times.",
    # anything else
    "meta_refused": "Meta refused the message; its own words are in the details.",
    "channel_gone": "The channel is no longer set up in Jola.",
    "channel_disconnected": (
        "Meta disconnected this channel (the app was removed from it): nothing is sent there until an "
        "owner turns it back on, on the overview."
    ),
    "internal": "Jola could not send it (an error on our side).",
}

# (code, subcode) -> key; a subcode of None is the code's reason whatever its subcode.
CODES: dict[tuple[int, int | None], str] = {
    (131047, None): "window_closed",
    (10, 2018278): "window_closed_tag",
    (10, 1893063): "page_restricted",
    (131026, None): "whatsapp_undeliverable",
    (551, None): "user_unavailable",
    (131030, None): "not_a_test_number",
    (131050, None): "opted_out_marketing",
    (190, None): "token_invalid",
    (190, 463): "token_expired",
    (190, 467): "token_invalid",
    (190, 460): "password_changed",
    (190, 458): "app_removed",
    (3, None): "permission_missing",
    (10, None): "permission_missing",
    **{(code, None): "permission_missing" for code in range(200, 300)},
    (368, None): "blocked",
    (131031, None): "account_locked",
    (131048, None): "spam_restricted",
    (132001, None): "template_missing",
    (132000, None): "template_params",
    (132012, None): "template_params",
    (132015, None): "template_paused",
    (132016, None): "template_paused",
    (100, None): "invalid_parameter",
    (131008, None): "invalid_parameter",
    (131009, None): "invalid_parameter",
    (131051, None): "unsupported_type",
    (131052, None): "media_failed",
    (131053, None): "media_failed",
    (131049, None): "held_back",
    (4, None): "rate_limited",
    (613, None): "rate_limited",
    (80007, None): "rate_limited",
    (130429, None): "rate_limited",
    (131056, None): "pair_rate_limited",
    (1, None): "meta_unavailable",
    (2, None): "meta_unavailable",
    (131000, None): "meta_unavailable",
    (131016, None): "meta_unavailable",
    (131057, None): "meta_unavailable",
}

# Our own refusals, made before Meta was asked (bot/sender.py), by their fixed wording.
OWN = {
    "channel is no longer configured": "channel_gone",
    "Meta disconnected this channel": "channel_disconnected",
    "cannot render": "internal",
    "internal:": "internal",
}


def key_for_code(code: int | None, subcode: int | None = None) -> str | None:
    """The reason Meta's code (and subcode) means, or None when we have no words for it."""
    if code is None:
        return None
    return CODES.get((code, subcode)) or CODES.get((code, None))


def words_for_code(code: int | None, subcode: int | None = None) -> str | None:
    key = key_for_code(code, subcode)
    return REASONS[key] if key else None


def own_key(reason: str) -> str | None:
    return next((key for start, key in OWN.items() if reason.startswith(start)), None)
