"""Call records: list, detail, change, search and report."""
