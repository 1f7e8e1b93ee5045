"""The test kit: factories and fakes (a Twilio HTTP server, an SMTP server, a TCP relay)
shared by the test suite, the benchmarks and the fault scripts. Never imported by the app."""
