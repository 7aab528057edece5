"""Calls to other systems over HTTP: the providers' authorization servers."""
