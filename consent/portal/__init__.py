"""The customer portal: server-rendered pages where a customer manages their consent."""
