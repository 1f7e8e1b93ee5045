"""Intake, the lifecycle, SLA clocks and the audit chain."""
