"""letterhead.account."""
