"""Deterministic workflow code: imports only the standard library, temporalio and sequences/."""
