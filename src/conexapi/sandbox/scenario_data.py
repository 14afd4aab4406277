"""Static data for generated sales: products, names, Colombian cities (DANE DIVIPOLA names)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from conexapi.sandbox import constants as c


@dataclass(frozen=True)
class CatalogProduct:
    sku: str
    title: str
    category_id: str
    price: int  # IVA-included COP, as ML shows it
    tax_ids: tuple[int, ...] = (c.TAX_IVA19_ID,)
    sizes: tuple[str, ...] = ()
    # Siigo `tax_classification` (docs/vendors/siigo.md §7.1): Taxed, Exempt or Excluded.
    tax_classification: str = "Taxed"

    @property
    def gross(self) -> Decimal:
        return Decimal(self.price)


PRODUCTS: tuple[CatalogProduct, ...] = (
    CatalogProduct("CAM-ALG-M-NEG", "Camiseta algodón talla M negra", "MCO1234", 59900),
    CatalogProduct("TERMO-INOX-750", "Termo acero inoxidable 750 ml", "MCO1577", 45900),
    CatalogProduct("AUD-BT-X200", "Audífonos Bluetooth X200", "MCO3697", 129900),
    CatalogProduct("MOUSE-INAL-M1", "Mouse inalámbrico M1", "MCO1714", 54900),
    CatalogProduct("LAMP-LED-ESC", "Lámpara LED de escritorio", "MCO1582", 89900),
    CatalogProduct("MORRAL-URB-25L", "Morral urbano 25 L", "MCO1246", 119000),
    CatalogProduct(
        "CAFE-HUILA-500G", "Café de origen Huila 500 g", "MCO1403", 32500, (c.TAX_IVA5_ID,)
    ),
    CatalogProduct("SARTEN-ANTIAD-24", "Sartén antiadherente 24 cm", "MCO1574", 74990),
)
VARIATION_PRODUCT = CatalogProduct(
    "TENIS-RUN", "Tenis para correr livianos", "MCO1276", 189900, sizes=("38", "39", "40", "41")
)
# IVA-included prices no 2-decimal base reaches exactly with Siigo's per-line rounding.
UNREACHABLE_PRODUCTS: tuple[CatalogProduct, ...] = (
    CatalogProduct("STICKER-PACK-10", "Stickers x10 diseños surtidos", "MCO1500", 1025),
    CatalogProduct("LLAVERO-METAL", "Llavero metálico", "MCO1501", 1026),
    CatalogProduct("BOLSA-REGALO-S", "Bolsa de regalo pequeña", "MCO1502", 1054),
)
UNKNOWN_SKU_PRODUCT = CatalogProduct(
    "SKU-NO-SIIGO-99", "Soporte celular para carro", "MCO1747", 39900
)
INACTIVE_PRODUCT = CatalogProduct("PROD-DESCONT-01", "Producto descontinuado", "MCO1000", 19900)
# A store selling goods under every IVA treatment, as their products are set up in Siigo: the
# tax of each invoice line is the tax of its product (docs/fiscal.md). Which good falls where is
# the seller's accountant's call, made in Siigo; these are plausible set-ups for the simulator.
MIXED_TAX_PRODUCTS: tuple[CatalogProduct, ...] = (
    CatalogProduct("FUNDA-CEL-A54", "Funda para celular A54", "MCO1051", 24900),
    CatalogProduct(
        "CAFE-TOST-250G", "Café tostado en grano 250 g", "MCO1403", 21500, (c.TAX_IVA5_ID,)
    ),
    CatalogProduct(
        "CUADERNO-100H", "Cuaderno argollado 100 hojas", "MCO1659", 8900, (c.TAX_IVA0_ID,)
    ),
    CatalogProduct(
        "LECHE-POLVO-900",
        "Leche entera en polvo 900 g",
        "MCO1423",
        38900,
        (),
        tax_classification="Exempt",
    ),
    CatalogProduct(
        "BICI-URB-26",
        "Bicicleta urbana rin 26",
        "MCO1292",
        749900,
        (c.TAX_EXCLUDED_ID,),
        tax_classification="Excluded",
    ),
    CatalogProduct(
        "LIBRO-COCINA",
        "Libro de cocina colombiana",
        "MCO1196",
        59900,
        (),
        tax_classification="Excluded",
    ),
    # No tax in Siigo and classified Taxed: the integration's default IVA applies.
    CatalogProduct("TAPETE-YOGA", "Tapete para yoga 6 mm", "MCO1276", 64900, ()),
)

# Real SKUs Siigo can't take as product codes (spaces, quotes, more than 30 characters;
# docs/vendors/siigo.md §7.1, docs/vendors/mercadolibre.md §15): the seller's Siigo product has
# another code.
SPACES_SKU_PRODUCT = CatalogProduct(
    "BOTELLA 1L 'ECO'", "Botella térmica ecológica 1 litro", "MCO1577", 42900
)
LONG_SKU_PRODUCT = CatalogProduct(
    "KIT-DESTORNILLADORES-PRECISION-32-PIEZAS",
    "Kit destornilladores de precisión 32 piezas",
    "MCO1578",
    64900,
)


@dataclass(frozen=True)
class SeedProduct:
    """A product of the default Siigo company."""

    product: CatalogProduct
    code: str
    active: bool = True
    name: str | None = None  # default: the listing title
    reference: str | None = None  # default: the code


def siigo_seed_products() -> list[SeedProduct]:
    """The products the default Siigo company starts with: one per generated SKU Siigo can take
    (variations named with their size), an inactive one, and for each SKU it can't take the
    seller's product under another code, findable by proposals: the SKU without spaces and
    quotes, the SKU as `reference`, or a name like the listing's title."""
    rows = [SeedProduct(p, p.sku) for p in PRODUCTS + UNREACHABLE_PRODUCTS + MIXED_TAX_PRODUCTS]
    rows += [
        SeedProduct(
            VARIATION_PRODUCT, f"{VARIATION_PRODUCT.sku}-{s}", name=f"{VARIATION_PRODUCT.title} {s}"
        )
        for s in VARIATION_PRODUCT.sizes
    ]
    rows.append(SeedProduct(INACTIVE_PRODUCT, INACTIVE_PRODUCT.sku, active=False))
    rows.append(SeedProduct(SPACES_SKU_PRODUCT, "BOTELLA1LECO"))
    rows.append(SeedProduct(LONG_SKU_PRODUCT, "KITDEST32", reference=LONG_SKU_PRODUCT.sku))
    rows.append(
        SeedProduct(UNKNOWN_SKU_PRODUCT, "SOPCEL-CARRO", name="Soporte de celular para carro")
    )
    return rows


FIRST_NAMES = (
    "Laura",
    "Andrés",
    "Juliana",
    "Carlos",
    "María José",
    "Santiago",
    "Valentina",
    "Jhon",
    "Daniela",
    "Sebastián",
    "Natalia",
    "Camilo",
    "Paola",
    "Óscar",
    "Luisa Fernanda",
    "Julián",
)
LAST_NAMES = (
    "Gómez Rincón",
    "Rodríguez Peña",
    "Martínez Ospina",
    "López Cárdenas",
    "García Muñoz",
    "Hernández Quintero",
    "Ramírez Zapata",
    "Vargas Londoño",
    "Castaño Ríos",
    "Restrepo Duque",
    "Morales Ibáñez",
    "Suárez Becerra",
)
COMPANY_NAMES = (
    "Distribuidora Andina S.A.S.",
    "Comercializadora El Café Ltda.",
    "Tecnología Caribe S.A.S.",
    "Ferretería La Montaña S.A.S.",
    "Inversiones Pacífico S.A.",
    "Papelería Santafé S.A.S.",
)
STREETS = (
    "Calle 45",
    "Carrera 15",
    "Avenida 68",
    "Calle 100",
    "Carrera 7",
    "Diagonal 32",
    "Transversal 23",
    "Avenida Las Vegas",
    "Calle 10 Sur",
)
NEIGHBORHOODS = (
    "La Candelaria",
    "Chapinero",
    "El Poblado",
    "Laureles",
    "Granada",
    "El Prado",
    "Cabecera",
    "Cañaveral",
    None,
)
COMMENTS = ("Apto 301", "Casa 2", "Torre B Apto 1204", "Local 5", "Oficina 402", None)

# (city_name as ML sends it, department name, ISO state code, zip code)
CITIES: tuple[tuple[str, str, str, str], ...] = (
    ("Bogotá D.C.", "Bogotá D.C.", "CO-DC", "110111"),
    ("Medellín", "Antioquia", "CO-ANT", "050001"),
    ("Envigado", "Antioquia", "CO-ANT", "055420"),
    ("Cali", "Valle del Cauca", "CO-VAC", "760001"),
    ("Barranquilla", "Atlántico", "CO-ATL", "080001"),
    ("Bucaramanga", "Santander", "CO-SAN", "680001"),
    ("Pereira", "Risaralda", "CO-RIS", "660001"),
    ("Manizales", "Caldas", "CO-CAL", "170001"),
    ("Cartagena de Indias", "Bolívar", "CO-BOL", "130001"),
    ("Soacha", "Cundinamarca", "CO-CUN", "250051"),
    ("Ibagué", "Tolima", "CO-TOL", "730001"),
    ("Pasto", "Nariño", "CO-NAR", "520001"),
    ("Villavicencio", "Meta", "CO-MET", "500001"),
    ("Santa Marta", "Magdalena", "CO-MAG", "470001"),
    ("Cúcuta", "Norte de Santander", "CO-NSA", "540001"),
    ("Armenia", "Quindío", "CO-QUI", "630001"),
    ("Neiva", "Huila", "CO-HUI", "410001"),
    ("Popayán", "Cauca", "CO-CAU", "190001"),
    ("Montería", "Córdoba", "CO-COR", "230001"),
    ("Tunja", "Boyacá", "CO-BOY", "150001"),
)
