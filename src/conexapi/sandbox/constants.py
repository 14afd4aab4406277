"""Fixed sandbox credentials and catalog ids (the contract's "test keys")."""

from __future__ import annotations

ML_CLIENT_ID = "sandbox-app"
ML_CLIENT_SECRET = "sandbox-secret"
SANDBOX_APPLICATION_ID = 5503910054141466
DEFAULT_SELLER_ID = 779432305
DEFAULT_SELLER_NICKNAME = "TIENDA_SANDBOX"
SITE_ID = "MCO"

SIIGO_USERNAME = "sandbox@conexapi.dev"
SIIGO_ACCESS_KEY = "sandbox"

# Siigo default catalog ids (those of the examples in docs/vendors/siigo.md §9.2, §10.3).
FV_ELECTRONIC_ID = 24446
FV_INACTIVE_ID = 24447
FV_NON_ELECTRONIC_ID = 24448
# Electronic FV types ConexAPI cannot issue (docs/vendors/siigo.md §8): numbered by hand, seller per
# item, no decimals, and one that needs a cost center.
FV_MANUAL_NUMBER_ID = 24449
FV_SELLER_BY_ITEM_ID = 24450
FV_NO_DECIMALS_ID = 24451
FV_COST_CENTER_ID = 24452
NC_ELECTRONIC_ID = 77775
TAX_IVA19_ID = 13156
TAX_IVA5_ID = 13157
TAX_IVA0_ID = 13158
TAX_EXCLUDED_ID = 13159
TAX_RETEFUENTE_ID = 13160
TAX_IMPOCONSUMO_ID = 13161
PAYMENT_MERCADOPAGO_ID = 5636
PAYMENT_CREDIT_ID = 5638
PAYMENT_INACTIVE_ID = 5639
PAYMENT_NC_ID = 5637
SELLER_USER_ID = 629
SELLER_USER_INACTIVE_ID = 630
ACCOUNT_GROUP_ID = 1253
COST_CENTER_ID = 235

CREDIT_NOTE_REASONS = frozenset({1, 2, 3, 4, 6, 7})
