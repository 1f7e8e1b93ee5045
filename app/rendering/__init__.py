"""Documents and pictures drawn from figures the services computed: the claim PDF, the
monthly report PDF and tables, charts (SVG for pages, vector drawings for PDFs)."""
