"""Insurance claims: cost lines, evidence, coverage and payout, the signed claim packet,
notices to insurers, and insurers and their policies."""
