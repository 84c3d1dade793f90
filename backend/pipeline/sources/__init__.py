"""Readers for uploaded files: each yields batches of raw values with the row numbers a user sees."""
