"""Notices to a customer: emergency access to their records (the notify_customer obligation)."""
