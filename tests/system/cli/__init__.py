"""The operator's flask commands."""
