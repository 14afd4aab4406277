"""Imports every model so that `Base.metadata` is complete (Alembic, tests)."""

from conexapi.accounts.models import LoginThrottle, Role, Tenant, User
from conexapi.alerts.models import Alert, AlertSettings
from conexapi.connections.models import (
    Connection,
    ErpCatalog,
    KnownCustomer,
    KnownProduct,
    OAuthState,
    RateBucket,
)
from conexapi.db import Base
from conexapi.inbox.models import Notification
from conexapi.integrations.models import Integration, ProductMapping, UnmappedSku
from conexapi.sync.models import (
    Document,
    Job,
    Sale,
    SaleDayMark,
    SaleDayStat,
    SaleEvent,
    SaleOrder,
    SaleStateTally,
    SaleTerm,
)

__all__ = [
    "Alert",
    "AlertSettings",
    "Base",
    "Connection",
    "Document",
    "ErpCatalog",
    "Integration",
    "Job",
    "KnownCustomer",
    "KnownProduct",
    "LoginThrottle",
    "Notification",
    "OAuthState",
    "ProductMapping",
    "RateBucket",
    "Role",
    "Sale",
    "SaleDayMark",
    "SaleDayStat",
    "SaleEvent",
    "SaleOrder",
    "SaleStateTally",
    "SaleTerm",
    "Tenant",
    "UnmappedSku",
    "User",
]
