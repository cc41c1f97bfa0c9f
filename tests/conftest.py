"""Fixtures shared by the whole suite (helpers live in tests/support.py)."""
