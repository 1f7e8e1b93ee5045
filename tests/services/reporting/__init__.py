"""Monthly reports, the dashboard and the liaison statistics."""
