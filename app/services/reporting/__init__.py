"""Figures over time: the provider dashboard, the liaison-meeting statistics and the
customers' monthly reports."""
