"""Secrets that pass bot/secret_policy.py, for tests that run `jola serve` or `jola doctor` on a config
file (a live config refuses example values and short secrets). None of them is used anywhere real."""

from __future__ import annotations

SECRET_KEY = "test-secret-key-for-staff-sessions-0123456789"
APP_SECRET = "5f0c2a9e4b7d1c3e8a6f0b2d4c6e8a1f"  # 32 hexadecimal characters, as Meta issues them
VERIFY_TOKEN = "test-verify-token-0123456789"
API_TOKEN = "jola_test-api-token-0123456789abcdefghij"
