"""Tenant isolation checked route by route, independently of how the app scopes its queries."""
