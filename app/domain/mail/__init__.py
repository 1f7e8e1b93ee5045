"""Mail as received: MIME parsing, Japanese decoding, threading and auto-reply rules (pure)."""
