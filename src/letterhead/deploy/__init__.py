"""letterhead.deploy."""
