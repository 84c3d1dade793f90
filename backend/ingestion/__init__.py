"""Ingestion: accept uploads, track tasks, and process them in durable background workers."""
