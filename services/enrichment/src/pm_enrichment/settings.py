from pm_platform.settings import InfraSettings


class EnrichmentSettings(InfraSettings):
    """Settings of the enrichment service (all shared ones for now)."""
