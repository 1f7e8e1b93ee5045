"""Alert parsing tests."""
