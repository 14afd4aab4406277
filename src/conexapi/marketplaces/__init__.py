"""Marketplace adapters (MercadoLibre): OAuth, tokens, client, webhook intake, mapping to
the sales domain."""
