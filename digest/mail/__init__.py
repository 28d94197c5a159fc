"""Email at the edge: MIME assembly, the SMTP sender and a local capture server."""
