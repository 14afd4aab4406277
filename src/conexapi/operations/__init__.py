"""The operations API over the sync engine: list, search, inspect and retry sales; start and
follow backfill jobs (`router` → `service` → `repository`)."""
