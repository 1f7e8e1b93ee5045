"""Offers, escalation timers and visits."""
