"""SQL of the export schema, and only here."""
