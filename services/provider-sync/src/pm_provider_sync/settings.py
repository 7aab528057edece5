from pm_platform.settings import InfraSettings


class ProviderSyncSettings(InfraSettings):
    """Settings of the provider-sync service (all shared ones for now)."""
