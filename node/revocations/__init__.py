"""The node side of consent revocation: the pushed revocations this node has received."""
