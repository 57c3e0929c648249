"""letterhead: transactional email as code for AWS SES."""

__version__ = "0.1.0"
