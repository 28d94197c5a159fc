"""Use cases: each public function owns one transaction (or takes the caller's session)."""
