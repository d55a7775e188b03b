"""Call-quality evaluations: the tenant's criteria, the scores, and the quality report."""
