"""Costs, evidence, claims, packets, insurers and policies."""
