"""Alerts: a connection needs re-authorization, sales need a person; shown and delivered."""
