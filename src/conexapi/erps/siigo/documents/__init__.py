"""Siigo fiscal documents, built as pure functions from the sales domain: the invoice
(`invoice`), the credit note (`credit_note`) and Siigo's exact arithmetic (`arithmetic`)."""
