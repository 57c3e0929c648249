"""letterhead.sestemplate."""
