"""Staff accounts, password login and short-lived bearer tokens for the node's staff."""
