"""Shared test helpers: the fake Graph API server, payload builders, a settable clock."""
