"""Injected faults: killed workers, a database that goes away, racing requests."""
