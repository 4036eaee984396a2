"""Jola's wired half: config, the aiohttp app, webhook, channel adapters, dispatch, sender and the CLI."""
