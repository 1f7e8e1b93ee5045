"""Organizations and contracts."""
