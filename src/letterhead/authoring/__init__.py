"""letterhead.authoring."""
