"""Why a message was not delivered, in words a receptionist can act on (the technical summary stays
in the page's tooltip and in the logs)."""

from __future__ import annotations

from bot.web.i18n import translate

_WINDOW = "More than 24 hours since the client wrote: only an approved template can be sent."
PLAIN = (
    ("OutsideWindow", _WINDOW),
    (
        "TokenInvalid",
        "The channel's access token has expired or was revoked: the channel must be connected again.",
    ),
    ("PermissionMissing", "Meta refused: the app lacks a permission for this channel."),
    (
        "RecipientUnavailable",
        "The client cannot be reached on this channel (not on it any more, or it blocks us).",
    ),
    ("RateLimited", "Meta asked us to slow down, and the message could not go out in time."),
    ("TransientSendError", "Meta could not be reached; it was tried several times."),
    ("internal:", "Jola could not send it (an error on our side)."),
    ("the client last wrote over 24 hours ago", _WINDOW),
)


def _by_code() -> dict[int, str]:
    from bot.graph import OutsideWindow, PermissionMissing, RateLimited, RecipientUnavailable, TokenInvalid

    words = dict(PLAIN)
    kinds = (OutsideWindow, TokenInvalid, PermissionMissing, RecipientUnavailable, RateLimited)
    return {code: words[kind.__name__] for kind in kinds for code in kind.codes}


BY_CODE = _by_code()
BY_CODE[131049] = "Meta held it back to keep clients from getting too many business messages; try later."


def plain_reason(summary: str | None, code: int | None = None) -> str:
    """The plain words for a stored send failure (by Meta's code, else by what our sender said); a reason
    we have no words for is shown as it is."""
    if code is not None and code in BY_CODE:
        return BY_CODE[code]
    if not summary:
        return "Meta did not say why."
    text = summary.removeprefix("gave up after ")
    for marker, words in PLAIN:
        if marker in text:
            return words
    return summary


def reminder_reason(locale: str, reason: str | None) -> str:
    """Why a reminder did not go out (bot/reminders.py says it in English, parts joined by "; ")."""
    from bot.reminders import OPTED_OUT

    prefix = OPTED_OUT.split("{channel}")[0]
    said = []
    for part in (reason or "").split("; "):
        if part.startswith(prefix):
            said.append(translate(locale, OPTED_OUT).format(channel=part.removeprefix(prefix)))
        else:
            said.append(translate(locale, part))
    return "; ".join(said)
