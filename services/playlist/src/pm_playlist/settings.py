from pm_platform.settings import InfraSettings


class PlaylistSettings(InfraSettings):
    """Settings of the playlist service (all shared ones for now)."""
