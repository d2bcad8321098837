"""joinedup."""
