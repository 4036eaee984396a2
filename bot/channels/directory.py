"""Which business owns which connected asset: how a delivery finds its tenant."""

from __future__ import annotations

from dataclasses import dataclass

from flows.messages import ChannelKind


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    id: int
    business_id: str
    kind: ChannelKind
    external_id: str
    access_token: str = ""
    transport: str = "graph"


class ChannelDirectory:
    """Channels by (kind, asset id) and by our id; built at start from the config-synced channel rows."""

    def __init__(self, channels: list[ChannelInfo] | None = None) -> None:
        self._by_asset: dict[tuple[str, str], ChannelInfo] = {}
        self._by_id: dict[int, ChannelInfo] = {}
        for channel in channels or []:
            self.add(channel)

    def add(self, channel: ChannelInfo) -> None:
        self._by_asset[(channel.kind, channel.external_id)] = channel
        self._by_id[channel.id] = channel

    def find(self, kind: ChannelKind, external_id: str) -> ChannelInfo | None:
        return self._by_asset.get((kind, external_id))

    def get(self, channel_id: int) -> ChannelInfo | None:
        return self._by_id.get(channel_id)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._by_id.values())
