"""Export service: playlist files (M3U8, XSPF, JSPF, CSV, JSON) and backups in object storage."""
