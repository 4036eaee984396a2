"""Channel adapters behind one door: platform JSON in, Replies out. Nothing else touches platform JSON."""

from __future__ import annotations

from types import ModuleType

from bot.channels import instagram, messenger, whatsapp
from bot.channels.directory import ChannelDirectory, ChannelInfo
from bot.channels.parsing import Parsed
from flows.messages import ChannelKind, Sender

# Webhook `object` -> the adapter that reads it.
BY_OBJECT: dict[str, ModuleType] = {
    whatsapp.OBJECT: whatsapp,
    messenger.OBJECT: messenger,
    instagram.OBJECT: instagram,
}
BY_KIND: dict[str, ModuleType] = {
    ChannelKind.WHATSAPP: whatsapp,
    ChannelKind.MESSENGER: messenger,
    ChannelKind.INSTAGRAM: instagram,
}


def adapter_for(kind: ChannelKind | str) -> ModuleType:
    try:
        return BY_KIND[kind]
    except KeyError:
        raise LookupError(f"no adapter for channel kind {kind!r}") from None


def text_limit_for(kind: ChannelKind | str) -> int:
    """The longest text one message may carry on the channel: a staff reply longer than this is refused
    before sending, not split."""
    return int(adapter_for(kind).TEXT_LIMIT)


def recipient_for(kind: ChannelKind | str, sender: Sender) -> str:
    adapter = BY_KIND.get(kind)
    return adapter.recipient(sender) if adapter else sender.key


__all__ = [
    "BY_OBJECT",
    "ChannelDirectory",
    "ChannelInfo",
    "Parsed",
    "adapter_for",
    "recipient_for",
    "text_limit_for",
]
