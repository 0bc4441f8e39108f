"""The user-facing transformations."""
