"""Vendor JSON adapters, one small module each: a `detect(obj)` that knows the vendor's
shape and a `parse(obj, context)` into a NormalizedAlert (docs/alerts.md, "Vendor JSON").
A sender names one with POST /api/v1/alerts?source=NAME; without it the shape decides."""

from app.domain.alerts.vendors import crowdstrike, defender, elastic, visionone

ADAPTERS = {"defender": defender, "elastic": elastic, "crowdstrike": crowdstrike,
            "visionone": visionone}


def detect(obj):
    """The adapter whose shape obj has, or None."""
    return next((adapter for adapter in ADAPTERS.values() if adapter.detect(obj)), None)
