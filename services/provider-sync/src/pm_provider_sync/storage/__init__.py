"""SQL of the provider_sync schema, and only here."""
