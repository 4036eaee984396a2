"""Records of processing (GDPR art. 30) for one business, made from what Jola knows at the moment asked:
the business as controller and the operator as processor, the purposes, the people and kinds of data held
(with counts and the oldest message's date), the channels, how long things are kept, who has access,
sub-processors, and the security measures in place. The owner's page (/settings/processing) and the REST
API (GET /api/v1/processing-record) show the same record; the page has each text in Danish too.

Every list has a stable `key` beside its English words, so a program (or the page) never parses prose."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.business_settings import document_of
from bot.config import KEEP, BusinessConfig, Config, parse_duration
from storage import processing as store
from storage.db import Database

PURPOSES = {
    "booking": "Booking, moving, cancelling and confirming the business's appointments",
    "conversations": "Answering clients' messages on the business's channels, by the bot and by staff",
    "reminders": "Reminders and confirmations of appointments, on the client's channel or by email",
    "records": "The client's record for the business's staff: contact details, history, notes",
    "rights": "Carrying out clients' requests to see, correct, restrict or erase their data",
}
SUBJECTS = {
    "clients": "Clients: people who write to the business or are booked by it",
    "staff": "Staff: the business's people with an account in the staff app",
}
CATEGORIES = {
    "identity_contact": (
        "Identity and contact: names, phone numbers, email addresses, the ids and usernames channels "
        "give, preferred language"
    ),
    "messages": "Messages: what clients write and what the bot and staff answer, with delivery status",
    "appointments": (
        "Appointments and their history, with the names of the services booked, which may reveal "
        "health (special category data, GDPR art. 9)"
    ),
    "notes": "Staff's notes on clients (free text, which may hold health information)",
    "consents": "Consents and objections: who said stop to reminders, and restricted processing",
    "reminders_emails": "Reminders and emails sent about appointments, with their outcome",
    "audit": "Audit records: staff logins, reads of client records, exports, erasures and changes",
}
RETENTION_KINDS = {
    "messages": "Messages",
    "inbound_events": "Deliveries from Meta as received",
}
FIXED_RETENTION = {
    "dedupe": "Handled deliveries keep only their id, to spot repeats, for 8 days",
    "outbox": "Replies waiting to be sent are deleted a day after they are sent",
    "login_failures": "Failed logins and wrong API tokens are counted for at most an hour",
    "erasure": "An erased client's appointments stay without anything that names them, for statistics",
}
META = {
    "key": "meta",
    "name": "Meta Platforms Ireland Ltd.",
    "purpose": (
        "Channel provider: WhatsApp, Messenger and Instagram carry messages between clients and the business"
    ),
    "location": "EU (Ireland); Meta may transfer data to the USA (EU-US Data Privacy Framework)",
}
MEASURES = {
    "encryption_at_rest": (
        "Channel access tokens and staff's notes on clients are encrypted in the database (AES-256-GCM)"
    ),
    "no_encryption_at_rest": (
        "Notes and access tokens are encrypted with a key Jola made itself (jola-keys.toml beside the "
        "config): set security.encryption_keys, and keep the key apart from database backups"
    ),
    "https": "The staff app and the REST API are reached over HTTPS at {url}",
    "no_https": (
        "No https:// address is configured (server.public_url): only a proxy in front can provide HTTPS"
    ),
    "passwords": (
        "Staff passwords are stored as Argon2id hashes; failed logins are throttled per account and address"
    ),
    "sessions": (
        "Staff sessions are signed cookies (HttpOnly, SameSite); every change needs a CSRF token; pages "
        "carry a Content-Security-Policy"
    ),
    "owner_only": "Only owners change settings and see this record; every query is limited to one business",
    "api": (
        "REST API tokens are kept only as SHA-256 digests and compared in constant time; the API is "
        "rate-limited per token and per address"
    ),
    "webhook": (
        "Every delivery from Meta is checked against its signature (X-Hub-Signature-256) before it is kept"
    ),
    "logs": "Logs carry ids and outcomes, never names, phone numbers or message text",
    "audit": (
        "An append-only audit log records staff logins, reads of client records, exports, "
        "erasures and changes"
    ),
    "email_tls": "Emails to clients leave through {host} over TLS",
    "email_plain": 'Emails to clients leave through {host} without TLS (smtp.security = "none")',
}


async def processing_record(
    db: Database, config: Config, business: BusinessConfig, now: datetime
) -> dict[str, Any]:
    """The record of `business` (as its settings stand) at `now`; times in the business's zone."""
    zone = ZoneInfo(business.timezone)
    async with db.read() as session:
        held = await store.holdings(session, business.id)
        people = await store.access(session, business.id)
        channels = await store.channels(session, business.id)
    privacy = config.privacy
    return {
        "business": {"id": business.id, "name": business.name},
        "generated_at": _iso(now, zone),
        "controller": {
            "name": business.name,
            "address": business.address or None,
            "phone": business.phone or None,
        },
        "processor": {
            "name": privacy.operator_name or None,
            "contact": privacy.operator_contact or None,
            "software": "Jola",
        },
        "purposes": [{"key": key, "description": text} for key, text in PURPOSES.items()],
        "data_subjects": [
            {"key": "clients", "description": SUBJECTS["clients"], "count": held.clients},
            {"key": "staff", "description": SUBJECTS["staff"], "count": len(people)},
        ],
        "data_categories": _categories(held, business),
        "figures": {
            "clients": held.clients,
            "clients_with_phone": held.with_phone,
            "clients_with_email": held.with_email,
            "clients_with_notes": held.with_notes,
            "channel_identities": held.identities,
            "opted_out": held.opted_out,
            "restricted": held.restricted,
            "conversations": held.conversations,
            "messages": held.messages,
            "oldest_message_at": _iso(held.oldest_message_at, zone),
            "appointments": held.appointments,
            "anonymous_appointments": held.anonymous_appointments,
            "reminders": held.reminders,
            "emails": held.emails,
            "audit_events": held.audit_events,
            "privacy_events": held.privacy_events,
            "settings_changes": held.settings_changes,
            "test_clients": held.test_clients,
        },
        "channels": [
            {
                "kind": c.kind,
                "asset_id": c.asset_id,
                "active": c.active,
                "connected_at": _iso(c.connected_at, zone),
            }
            for c in channels
        ],
        "retention": _retention(business),
        "access": [
            {
                "name": p.name,
                "email": p.email,
                "role": p.role,
                "active": p.active,
                "since": _iso(p.created_at, zone),
                "last_login_at": _iso(p.last_login_at, zone),
            }
            for p in people
        ],
        "sub_processors": [
            dict(META),
            *({"key": "configured", **item.model_dump()} for item in privacy.sub_processors),
        ],
        "security_measures": _measures(config),
    }


def _categories(held: store.Holdings, business: BusinessConfig) -> list[dict[str, Any]]:
    counts: dict[str, dict[str, Any]] = {
        "identity_contact": {
            "count": held.clients,
            "with_phone": held.with_phone,
            "with_email": held.with_email,
        },
        "messages": {"count": held.messages},
        "appointments": {
            "count": held.appointments,
            "services": [service.name for service in business.services],
        },
        "notes": {"count": held.with_notes},
        "consents": {"count": held.opted_out + held.restricted, "opted_out": held.opted_out},
        "reminders_emails": {"count": held.reminders + held.emails},
        "audit": {"count": held.audit_events + held.privacy_events + held.settings_changes},
    }
    return [{"key": key, "description": CATEGORIES[key], **counts[key]} for key in CATEGORIES]


def _retention(business: BusinessConfig) -> dict[str, Any]:
    """The business's retention settings (the settings document's `retention`), or none: kept until
    erased. Each rule: how many days, or None for kept."""
    setting = document_of(business).get("retention")
    rules = []
    if isinstance(setting, dict):
        for kind, value in setting.items():
            days = _days(value)
            rules.append(
                {
                    "key": kind,
                    "description": RETENTION_KINDS.get(kind, kind.replace("_", " ").capitalize()),
                    "value": value,
                    "days": days,
                }
            )
    return {
        "set": bool(rules) and any(rule["days"] is not None for rule in rules),
        "rules": rules,
        "otherwise": "Kept until erased",
        "fixed": [{"key": key, "description": text} for key, text in FIXED_RETENTION.items()],
    }


def _days(value: Any) -> int | None:
    """ "365d" is 365; "off" (kept), or anything not a duration, is None."""
    if not isinstance(value, str) or value == KEEP:
        return None
    try:
        return max(1, round(parse_duration(value).total_seconds() / 86400))
    except ValueError:
        return None


def _measures(config: Config) -> list[dict[str, Any]]:
    found: list[tuple[str, dict[str, str]]] = []
    found.append(("encryption_at_rest" if config.security.encryption_keys else "no_encryption_at_rest", {}))
    url = config.server.public_url
    found.append(("https", {"url": url}) if url.startswith("https://") else ("no_https", {}))
    found += [(key, {}) for key in ("passwords", "sessions", "owner_only", "api", "webhook", "logs", "audit")]
    smtp = config.smtp
    if smtp.host:
        found.append(("email_plain" if smtp.security == "none" else "email_tls", {"host": smtp.host}))
    measures = [
        {"key": key, "description": MEASURES[key].format(**values), **values} for key, values in found
    ]
    measures += [{"key": "operator", "description": text} for text in config.privacy.security_measures]
    return measures


def _iso(moment: datetime | None, zone: ZoneInfo) -> str | None:
    return None if moment is None else moment.astimezone(zone).isoformat(timespec="seconds")
