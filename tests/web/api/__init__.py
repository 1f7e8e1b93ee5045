"""The JSON API v1: contract, errors, scoping, concurrency."""
