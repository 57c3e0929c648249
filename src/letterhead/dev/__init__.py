"""letterhead.dev."""
