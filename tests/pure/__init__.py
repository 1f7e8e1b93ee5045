"""Pure tests: workflows, parsers and computations, without an app or a database."""
