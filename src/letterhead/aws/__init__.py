"""letterhead.aws."""
