"""Prometheus metrics of the ingest path (scraped from ``meetnet ingest``'s metrics port and
from the API process when it runs ingest in-process, as in ``meetnet demo``)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MESSAGES = Counter("meetnet_ingest_messages_total", "MQTT messages handled", ["result"])
DEAD_LETTERS = Counter("meetnet_ingest_dead_letters_total", "Messages refused", ["stage"])
READINGS = Counter("meetnet_ingest_readings_total", "Readings stored (new, after dedup)")
UPLINKS = Counter("meetnet_ingest_uplinks_total", "Raw uplinks stored (new, after dedup)")
BATCH_SECONDS = Histogram("meetnet_ingest_batch_seconds", "Time to process and commit a batch",
                          buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
BATCH_SIZE = Histogram("meetnet_ingest_batch_messages", "Messages per committed batch",
                       buckets=(1, 10, 50, 100, 250, 500, 1000, 2500, 5000))
STORE_RETRIES = Counter("meetnet_ingest_store_retries_total", "Batch commits retried after an error")
CONNECTED = Gauge("meetnet_ingest_connected", "1 while connected to the broker")
SESSION_LOST = Counter("meetnet_ingest_session_lost_total",
                       "Reconnects on which the broker no longer had our persistent session "
                       "(messages it had queued for us may be lost)")
ACKS_DROPPED = Counter("meetnet_ingest_acks_dropped_total",
                       "Committed messages not acked because their connection was lost first "
                       "(the broker redelivers them; dedup makes that harmless)")
PENDING = Gauge("meetnet_ingest_batches_pending",
                "Batches shipped to the store process and not yet committed (acked after)")

# Label children resolved once: `.labels()` costs a lock and a dict lookup per call, which adds
# up at thousands of messages per second.
STORED = MESSAGES.labels("stored")
IGNORED = MESSAGES.labels("ignored")
EVENTS = MESSAGES.labels("event")
EMPTY = MESSAGES.labels("empty")
DEAD = MESSAGES.labels("dead_letter")
