"""Why a message was not delivered, in words a receptionist can act on (the technical summary stays
in the page's tooltip and in the logs)."""

from __future__ import annotations

import re

from bot.meta_errors import CODES, REASONS, words_for_code
from bot.web.i18n import translate

_WINDOW = REASONS["window_closed"]
# Rows stored before reasons had keys (and the sender's "internal: ..." outcomes), by what they said.
_EARLIER = (
    ("OutsideWindow", _WINDOW),
    ("TokenInvalid", REASONS["token_invalid"]),
    ("PermissionMissing", REASONS["permission_missing"]),
    ("RecipientUnavailable", REASONS["unreachable"]),
    ("RateLimited", REASONS["rate_limited"]),
    ("TransientSendError", REASONS["network"]),
    ("internal:", REASONS["internal"]),
    ("cannot render:", REASONS["internal"]),
    ("the client last wrote over 24 hours ago", _WINDOW),
)
# What a stored reason holds, and the plain words for it: `... reason=window_closed: ...` first.
PLAIN = (*((f"reason={key}:", words) for key, words in REASONS.items()), *_EARLIER)
# Meta's codes alone (a `failed` status webhook brings a code, not our reason).
BY_CODE = {code: REASONS[key] for (code, subcode), key in CODES.items() if subcode is None}
_SUBCODE = re.compile(r"\bsubcode=(\d+)")
_OWN_WORDS = "reason=not_sent: "


def plain_reason(summary: str | None, code: int | None = None) -> str:
    """The plain words for a stored send failure: by the reason our sender stored, else by Meta's code
    (and the subcode beside it), else by what an older row said; a reason we have no words for is shown
    as it is."""
    text = (summary or "").removeprefix("gave up after ")
    for marker, words in PLAIN[: len(REASONS)]:
        if marker in text:
            return words
    if _OWN_WORDS in text:  # the sender's own words, e.g. "channel is no longer configured"
        return text.split(_OWN_WORDS, 1)[1].split(" (", 1)[0]
    subcode = _SUBCODE.search(text)
    by_code = words_for_code(code, int(subcode.group(1)) if subcode else None)
    if by_code is not None:
        return by_code
    if not summary:
        return "Meta did not say why."
    for marker, words in _EARLIER:
        if marker in text:
            return words
    return summary


def reminder_reason(locale: str, reason: str | None) -> str:
    """Why a reminder did not go out (bot/reminders.py says it in English, parts joined by "; ")."""
    from bot.reminders import DISCONNECTED, OPTED_OUT

    said = []
    for part in (reason or "").split("; "):
        for pattern in (OPTED_OUT, DISCONNECTED):
            prefix, _, suffix = pattern.partition("{channel}")
            if part.startswith(prefix) and part.endswith(suffix):
                channel = part.removeprefix(prefix).removesuffix(suffix)
                said.append(translate(locale, pattern).format(channel=channel))
                break
        else:
            said.append(translate(locale, part))
    return "; ".join(said)
