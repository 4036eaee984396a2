"""Prometheus metrics, one registry per app (no process globals)."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    def __init__(self) -> None:
        disable_created_metrics()  # the *_created series double the output and nobody graphs them
        self.registry = CollectorRegistry()
        r = self.registry
        self._children: dict[tuple[Counter, tuple[str, ...]], Counter] = {}
        self.deliveries = Counter(
            "jola_webhook_deliveries", "Webhook POSTs by outcome", ["object", "outcome"], registry=r
        )
        self.items = Counter(
            "jola_inbound_items", "Messages and statuses in deliveries", ["kind", "outcome"], registry=r
        )
        self.ack_latency = Histogram(
            "jola_webhook_ack_seconds",
            "Time from request to 200 (stored durably)",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.dispatched = Counter("jola_dispatched_events", "Inbox events handled", ["outcome"], registry=r)
        self.dispatch_latency = Histogram(
            "jola_dispatch_latency_seconds",
            "Time from storing a delivery to handling it",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.dispatch_batch = Histogram(
            "jola_dispatch_batch_events",
            "Inbox events handled per dispatch transaction",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.send_batch = Histogram(
            "jola_send_batch_rows", "Outbox rows claimed per sender pass", buckets=BATCH_BUCKETS, registry=r
        )
        self.replies = Counter(
            "jola_replies_sent", "Outbound messages accepted by the platform", ["channel"], registry=r
        )
        self.send_failures = Counter(
            "jola_send_failures",
            "Outbound sends that failed, by error class",
            ["reason", "final"],
            registry=r,
        )
        self.reminders = Counter(
            "jola_reminders",
            "Reminders settled when due: queued for sending, skipped (with a reason staff see) or failed",
            ["outcome"],
            registry=r,
        )
        self.emails = Counter(
            "jola_emails", "Emails to clients: sent, to be retried, or failed", ["outcome"], registry=r
        )
        self.purged = Counter(
            "jola_retention_purged",
            "Rows past the business's retention: messages removed, raw deliveries emptied",
            ["kind"],
            registry=r,
        )
        for kind in ("messages", "inbound_events"):  # both shown from the start, at 0
            self.purged.labels(kind)
        self.api_throttled = Counter(
            "jola_api_throttled",
            "REST API requests answered 429, by the limit met (token, address, failed_auth)",
            ["limit"],
            registry=r,
        )
        for limit in ("token", "address", "failed_auth"):
            self.api_throttled.labels(limit)
        self.api_auth_failures = Counter(
            "jola_api_auth_failures",
            "REST API requests answered 401: no bearer token (missing) or a wrong one (invalid)",
            ["reason"],
            registry=r,
        )
        for reason in ("missing", "invalid"):
            self.api_auth_failures.labels(reason)
        self.sends_in_flight = Gauge(
            "jola_sends_in_flight", "Conversations with a send to the platform in flight", registry=r
        )

    def count(self, counter: Counter, *labels: str, amount: float = 1) -> None:
        """counter.labels(*labels).inc(amount), with the labelled child looked up once: `labels()` takes a
        lock and checks its values on every call, which the webhook would pay several times per delivery."""
        key = (counter, labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = counter.labels(*labels)
        child.inc(amount)

    def render(self) -> bytes:
        return generate_latest(self.registry)
