"""Starts and stops the embedded Temporal dev server and PostgreSQL for `make run` and the tests."""
