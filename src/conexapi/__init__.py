"""ConexAPI: MercadoLibre Colombia to Siigo Nube, every paid sale exactly one invoice."""

__version__ = "0.1.0"
