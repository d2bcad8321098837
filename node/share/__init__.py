"""The partner-facing share endpoint: verified request → consent → policy → sealed section."""
