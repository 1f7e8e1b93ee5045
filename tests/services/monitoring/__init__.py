"""Alert ingest: deduplication, the severity policy, bursts."""
