"""Who we serve and who logs in: customer organizations with their caller-ID numbers, their
contracts under the Otasuketai standard, and the one way to create a login (users.py)."""
