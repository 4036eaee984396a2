"""Fitting our text into platform limits without losing the meaning."""

from __future__ import annotations

ELLIPSIS = "…"


def fit(text: str, limit: int) -> str:
    """Cut `text` to `limit` characters, at a word boundary where one is near, marking the cut."""
    text = " ".join(text.split()) if "\n" not in text else text.strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-") + ELLIPSIS


def split_text(text: str, limit: int) -> list[str]:
    """Split a long text into messages of at most `limit` characters, preferring paragraph and word ends."""
    text = text.strip()
    parts: list[str] = []
    while len(text) > limit:
        window = text[:limit]
        cut = window.rfind("\n\n")
        if cut < limit // 2:
            cut = window.rfind("\n")
        if cut < limit // 2:
            cut = window.rfind(" ")
        if cut < limit // 2:
            cut = limit
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text or not parts:
        parts.append(text)
    return parts
