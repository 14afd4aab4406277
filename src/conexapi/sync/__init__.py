"""The sync engine: the sale is the unit of work and the queue.

`queue` (make due, claim with a lease), `worker` (claims and processes), `pipeline` (one sale:
fetch, decide, invoice or credit), `invoicing` (the ERP half), `issuing` (exactly-once issue of a
document: replay by key, adopt by marker), `customers`, `policy` (what a failure means),
`sweep`/`sweep_window`/`backfill` (no sale left behind), `upkeep` (periodic jobs), `models`.
"""
