"""Adapters translate a platform's events into `Request`s and render `Reply`s back.

Each adapter imports its SDK itself, and only when it is started, so that the core and the CLI
start fast and install without any platform SDK.
"""
