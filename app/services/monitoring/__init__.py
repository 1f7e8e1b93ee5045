"""Monitoring alerts: ingest keys, parsing, deduplication and the severity policy that
opens incidents."""
