"""The pages of every audience, rendered and posted as a browser would (no JavaScript)."""
