from pm_platform.settings import InfraSettings, S3Settings


class ExportSettings(InfraSettings, S3Settings):
    """Settings of the export service: the shared ones plus object storage."""
