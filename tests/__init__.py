"""The suite, by kind: pure, services (on a database), web (through the test client),
isolation (the independent tenant check) and system (browser, processes, faults, the CLI)."""
