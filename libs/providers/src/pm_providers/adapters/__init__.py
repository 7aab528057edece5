"""One adapter per provider, each implementing :class:`pm_providers.base.ProviderAdapter`."""
