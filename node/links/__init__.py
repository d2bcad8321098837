"""Links between federation subject ids and this node's own person records."""
