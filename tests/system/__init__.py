"""The system from outside: Chromium, real processes and servers, injected faults, the CLI."""
