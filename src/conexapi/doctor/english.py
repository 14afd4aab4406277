"""The doctor's findings in English (the command line's default language; `--lang es` and the
dashboard use the Spanish of the message catalogue, same keys)."""

from __future__ import annotations

ENGLISH: dict[str, str] = {
    "doctor.failed": "The check could not run: {error}",
    "doctor.failed.fix": "Fix what it says, then run the doctor again.",
    "doctor.database": "Database",
    "doctor.database.ok": "Reachable, schema at the latest revision ({revision}).",
    "doctor.database.unreachable": "Cannot connect to the database: {error}",
    "doctor.database.unreachable.fix": "Check CONEXAPI_DATABASE_URL and that the database runs.",
    "doctor.database.outdated": "The schema is at {current}; the latest is {head}.",
    "doctor.database.outdated.fix": "Run `conexapi migrate`.",
    "doctor.settings": "Settings",
    "doctor.settings.ok": "MercadoLibre application set; public URL {url}.",
    "doctor.settings.no_meli_app": "CONEXAPI_MELI_CLIENT_ID or CONEXAPI_MELI_CLIENT_SECRET is "
    "not set.",
    "doctor.settings.no_meli_app.fix": "Copy them from your application in MercadoLibre's "
    "DevCenter (My applications).",
    "doctor.settings.public_url_http": "CONEXAPI_PUBLIC_URL is {url}: MercadoLibre needs HTTPS "
    "redirect and notification URLs.",
    "doctor.settings.public_url_http.fix": "Serve ConexAPI over HTTPS and set CONEXAPI_PUBLIC_URL "
    "to that https:// address.",
    "doctor.keys": "Keys",
    "doctor.keys.ok": "Signing and encryption keys set; stored secrets decrypt.",
    "doctor.keys.development": "Development keys in use; stored secrets decrypt. Set "
    "CONEXAPI_SECRET_KEY and CONEXAPI_ENCRYPTION_KEY in production.",
    "doctor.keys.undecryptable": "{count} stored secrets do not decrypt with the configured keys.",
    "doctor.keys.undecryptable.fix": "Set CONEXAPI_ENCRYPTION_KEY to the key that encrypted them, "
    "or add it to CONEXAPI_OLD_ENCRYPTION_KEYS.",
    "doctor.meli_app": "MercadoLibre application",
    "doctor.meli_app.no_connection": "No MercadoLibre account is connected, so the application's "
    "settings cannot be read.",
    "doctor.meli_app.no_connection.fix": "Connect a MercadoLibre account in Conexiones, then run "
    "the doctor again.",
    "doctor.meli_app.unreadable": "MercadoLibre did not give the application's settings: {error}",
    "doctor.meli_app.unreadable.fix": "Check CONEXAPI_MELI_APPLICATION_ID (or the client id) and "
    "try again.",
    "doctor.meli_redirect": "Redirect URI",
    "doctor.meli_redirect.ok": "The application's redirect URI is {expected}.",
    "doctor.meli_redirect.mismatch": "The application's redirect URI is {found}; ConexAPI uses "
    "{expected}.",
    "doctor.meli_redirect.mismatch.fix": "In DevCenter → your application → Redirect URIs, set "
    "{expected} (or fix CONEXAPI_PUBLIC_URL).",
    "doctor.meli_notifications": "Notifications URL",
    "doctor.meli_notifications.ok": "Notifications go to {expected}.",
    "doctor.meli_notifications.mismatch": "Notifications go to {found}; ConexAPI receives them at "
    "{expected}.",
    "doctor.meli_notifications.mismatch.fix": "In DevCenter → your application → Notifications "
    "callback URL, set {expected}.",
    "doctor.meli_topics": "Notification topics",
    "doctor.meli_topics.ok": "Subscribed to orders_v2 (topics: {topics}).",
    "doctor.meli_topics.missing": "Not subscribed to orders_v2 (topics: {topics}).",
    "doctor.meli_topics.missing.fix": "In DevCenter → your application → Topics, tick Orders "
    "(orders_v2).",
    "doctor.meli_token": "MercadoLibre account",
    "doctor.meli_token.ok": "The token of {account} works.",
    "doctor.meli_token.reauth": "The account {account} must be authorized again.",
    "doctor.meli_token.reauth.fix": "Reconnect it in Conexiones (log in with the main account, not "
    "a collaborator).",
    "doctor.meli_token.error": "MercadoLibre did not answer for {account}: {error}",
    "doctor.meli_token.error.fix": "Try again in a few minutes.",
    "doctor.meli_orders": "Permission: Ventas y envíos",
    "doctor.meli_orders.ok": "The application can read the orders of {account}.",
    "doctor.meli_orders.missing_permission": "The MercadoLibre application lacks the functional "
    "permission «{permission}» for {account}.",
    "doctor.meli_orders.missing_permission.fix": "In DevCenter → your application → Permisos "
    "funcionales, enable «{permission}». Connected sellers need not authorize again.",
    "doctor.meli_orders.error": "The orders of {account} could not be read: {error}",
    "doctor.meli_orders.error.fix": "Try again in a few minutes.",
    "doctor.meli_billing": "Permission: Facturación",
    "doctor.meli_billing.ok": "The application can read the buyers' billing info of {account}.",
    "doctor.meli_billing.missing_permission": "The MercadoLibre application lacks the functional "
    "permission «{permission}» for {account}: billing info answers 403 "
    "PA_UNAUTHORIZED_RESULT_FROM_POLICIES, and sales wait.",
    "doctor.meli_billing.missing_permission.fix": "In DevCenter → your application → Permisos "
    "funcionales, enable «{permission}». Connected sellers need not authorize again; the sales "
    "resume by themselves.",
    "doctor.meli_billing.error": "Billing info of {account} could not be read: {error}",
    "doctor.meli_billing.error.fix": "Try again in a few minutes.",
    "doctor.siigo": "Siigo credentials",
    "doctor.siigo.ok": "Siigo accepts the API user {account}.",
    "doctor.siigo.rejected": "Siigo refuses the API user {account} and its access key.",
    "doctor.siigo.rejected.fix": "Enter them again in Conexiones (Siigo Nube: Alianzas → Mi "
    "credencial API).",
    "doctor.siigo.error": "Siigo did not answer for {account}: {error}",
    "doctor.siigo.error.fix": "Try again in a few minutes.",
    "doctor.catalog": "Siigo catalogs",
    "doctor.catalog.unreadable": "The Siigo catalogs could not be read: {error}",
    "doctor.catalog.unreadable.fix": "Check the Siigo credentials, then try again.",
    "doctor.catalog_fv": "Invoice type (FV)",
    "doctor.catalog_fv.ok": "{name} ({id}): active and electronic.",
    "doctor.catalog_fv.not_set": "No sales invoice type is set.",
    "doctor.catalog_fv.not_set.fix": "Choose it in Integración.",
    "doctor.catalog_fv.not_found": "The invoice type {id} does not exist in Siigo.",
    "doctor.catalog_fv.not_found.fix": "Choose an existing one in Integración.",
    "doctor.catalog_fv.inactive": "The invoice type {name} ({id}) is inactive in Siigo.",
    "doctor.catalog_fv.inactive.fix": "Activate it in Siigo Nube or choose another in Integración.",
    "doctor.catalog_fv.not_electronic": "The invoice type {name} ({id}) is not electronic: DIAN "
    "never receives its invoices.",
    "doctor.catalog_fv.not_electronic.fix": "Choose an electronic invoice type (with a DIAN "
    "numbering resolution) in Integración.",
    "doctor.catalog_nc": "Credit note type (NC)",
    "doctor.catalog_nc.ok": "{name} ({id}): active and electronic.",
    "doctor.catalog_nc.not_set": "No credit note type is set.",
    "doctor.catalog_nc.not_set.fix": "Choose it in Integración.",
    "doctor.catalog_nc.not_found": "The credit note type {id} does not exist in Siigo.",
    "doctor.catalog_nc.not_found.fix": "Choose an existing one in Integración.",
    "doctor.catalog_nc.inactive": "The credit note type {name} ({id}) is inactive in Siigo.",
    "doctor.catalog_nc.inactive.fix": "Activate it in Siigo Nube or choose another in Integración.",
    "doctor.catalog_nc.not_electronic": "The credit note type {name} ({id}) is not electronic, "
    "and the invoices are.",
    "doctor.catalog_nc.not_electronic.fix": "Choose an electronic credit note type in Integración.",
    "doctor.catalog_tax": "IVA tax",
    "doctor.catalog_tax.ok": "{name} ({id}): active IVA.",
    "doctor.catalog_tax.not_set": "No IVA tax is set.",
    "doctor.catalog_tax.not_set.fix": "Choose it in Integración.",
    "doctor.catalog_tax.unusable": "The tax {name} ({id}) is missing, inactive or not IVA.",
    "doctor.catalog_tax.unusable.fix": "Choose an active IVA tax in Integración.",
    "doctor.catalog_payment_fv": "Invoice payment type",
    "doctor.catalog_payment_fv.ok": "{name} ({id}): active, without due date.",
    "doctor.catalog_payment_fv.not_set": "No invoice payment type is set.",
    "doctor.catalog_payment_fv.not_set.fix": "Choose it in Integración.",
    "doctor.catalog_payment_fv.unusable": "The payment type {name} ({id}) is missing or inactive.",
    "doctor.catalog_payment_fv.unusable.fix": "Choose an active one in Integración.",
    "doctor.catalog_payment_fv.due_date": "The payment type {name} ({id}) needs a due date; "
    "MercadoLibre sales are already paid.",
    "doctor.catalog_payment_fv.due_date.fix": "Choose one without due date (e.g. MercadoPago) in "
    "Integración.",
    "doctor.catalog_payment_nc": "Credit note payment type",
    "doctor.catalog_payment_nc.ok": "{name} ({id}): active.",
    "doctor.catalog_payment_nc.not_set": "No credit note payment type is set.",
    "doctor.catalog_payment_nc.not_set.fix": "Choose it in Integración.",
    "doctor.catalog_payment_nc.unusable": "The payment type {name} ({id}) is missing or inactive.",
    "doctor.catalog_payment_nc.unusable.fix": "Choose an active one in Integración.",
    "doctor.catalog_seller": "Seller",
    "doctor.catalog_seller.ok": "{name} ({id}): active Siigo user.",
    "doctor.catalog_seller.not_set": "No seller is set.",
    "doctor.catalog_seller.not_set.fix": "Choose it in Integración.",
    "doctor.catalog_seller.unusable": "The seller {id} is missing or inactive in Siigo.",
    "doctor.catalog_seller.unusable.fix": "Choose an active Siigo user in Integración.",
    "doctor.catalog_shipping": "Shipping product",
    "doctor.catalog_shipping.ok": "{code}: active in Siigo.",
    "doctor.catalog_shipping.missing": "The shipping product {code} is not set, missing or "
    "inactive: sales with shipping paid by the buyer wait.",
    "doctor.catalog_shipping.missing.fix": "Create a service product (e.g. ENVIOML) in Siigo and "
    "set it in Integración.",
    "doctor.clock": "Clock",
    "doctor.clock.ok": "This machine's clock is {seconds} s from {vendor}'s.",
    "doctor.clock.unknown": "The vendors' clocks could not be read; not compared.",
    "doctor.clock.skewed": "This machine's clock is {seconds} s off {vendor}'s: tokens and "
    "invoice dates go wrong.",
    "doctor.clock.skewed.fix": "Synchronise the server's clock (NTP).",
}
