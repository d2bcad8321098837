"""Customer accounts: activation by one-time code, password login, bearer tokens."""
