"""letterhead.sending."""
