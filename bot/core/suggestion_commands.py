"""Suggestion commands (filled in below)."""
