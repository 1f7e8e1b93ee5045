"""Incidents: intake from every channel, the lifecycle (triggers, guards, side effects),
notes, triage, SLA clocks, personal-data leaks, the audit chain and the incident lists."""
