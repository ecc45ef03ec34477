"""Isolation cases, one module per domain; every module here is loaded by the tests."""
