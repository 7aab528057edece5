"""API gateway: the only public entrypoint; routes /api/v1 to the owning services."""
