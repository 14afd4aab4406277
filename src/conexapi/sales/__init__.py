"""The sales domain, pure: what a sale is, whether it is invoiced, its keys and its results.

No database, HTTP or web framework here (checked by import-linter in `make lint`):
`facts` (the vendor-neutral sale), `decision` (invoice now, later or never), `settings` (an
integration's invoicing settings), `states`, `step` (what an attempt decided, timeline kinds),
`keys` (idempotency keys and markers), `build_errors`, `snapshot`, `clock` (Colombian time).
"""
