"""Provider emulator: Spotify, Deezer, TIDAL, YouTube and MusicBrainz HTTP surfaces for development and tests."""
