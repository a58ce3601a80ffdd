"""Digest commands."""
