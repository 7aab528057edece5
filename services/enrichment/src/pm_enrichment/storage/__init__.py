"""SQL of the enrichment schema, and only here."""
