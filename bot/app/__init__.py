"""The application layer: async services that do the I/O the pure core decides on (storage, feeds, posts)."""
