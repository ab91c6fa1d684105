"""evaltools.run."""
