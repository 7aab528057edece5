"""Enrichment service: the canonical catalog and track metadata enrichment."""
