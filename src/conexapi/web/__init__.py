"""The seller's dashboard: server-rendered pages (Jinja2) under `/app`, in Spanish (es-CO)."""
