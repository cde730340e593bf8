"""MQTT subscriber and the pipeline up to the store. Public face: `Subscriber`, `Pipeline`,
`parse`."""

from ingest.envelopes import EnvelopeError, Ignored, parse
from ingest.pipeline import Pipeline
from ingest.subscriber import Subscriber

__all__ = ["EnvelopeError", "Ignored", "Pipeline", "Subscriber", "parse"]
