"""Member nodes as callers: registry-backed verification of their signed requests."""
