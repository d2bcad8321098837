"""Enrolment: customers become opaque subjects, identified across nodes by linkage tokens."""
