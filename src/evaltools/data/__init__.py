"""evaltools.data."""
