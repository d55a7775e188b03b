"""Reports over calls: the contract's totals."""
