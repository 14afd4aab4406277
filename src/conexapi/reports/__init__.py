"""Reports over a tenant's sales: profit per sale/day/platform and the reconciliation."""
