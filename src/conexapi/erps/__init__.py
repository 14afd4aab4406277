"""ERP adapters (Siigo Nube): clients, auth, rate limits, mapping and fiscal documents."""
