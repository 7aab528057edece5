"""ProviderSync service: provider adapters at work: reading and writing playlists on streaming services, transfers and sync."""
