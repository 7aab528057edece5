"""Playlist service: the unified library of every linked account's playlists, edits and history."""
