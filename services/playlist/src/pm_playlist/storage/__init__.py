"""SQL of the playlist schema, and only here."""
