"""Calls to other services over HTTP: the library (playlist) and the shared match cache (enrichment)."""
