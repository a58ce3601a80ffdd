"""The platform-neutral core: pure functions and value objects, no I/O beyond reading the catalog file.

Nothing in this package may import a chat SDK, a web framework or a database driver
(tests/test_architecture.py enforces it).
"""
