"""node.audit: the node's tamper-evident audit log (RFC 9162 Merkle tree), see docs/audit.md."""
