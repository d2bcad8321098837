"""Evidence for strategy: catalogued aggregate questions answered by secure summation."""
