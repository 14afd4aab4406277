"""One finding of `conexapi doctor`: what was checked, ok or a problem, and how to fix it.

A finding carries a stable key (`check`, `reason`) and its parameters; its words come from the
message catalogue in Spanish (the dashboard's "Verificar configuración", and the command line
with `--lang es`) or from `doctor.english` (the command line's default).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from conexapi.doctor.english import ENGLISH
from conexapi.messages import CATALOGUE

LANGUAGES = ("en", "es")


@dataclass(frozen=True)
class Finding:
    check: str  # database, keys, meli_app, meli_connection, siigo, catalog, clock
    ok: bool
    reason: str  # "ok" or what is wrong (a key of the texts)
    params: dict[str, str] = field(default_factory=dict)
    subject: str = ""  # the account or integration it is about, if any

    def _text(self, key: str, lang: str) -> str:
        table = ENGLISH if lang == "en" else CATALOGUE
        template = table.get(key)
        if template is None:
            return ""
        return template.format(**self.params) if self.params else template

    def title(self, lang: str = "es") -> str:
        name = self._text(f"doctor.{self.check}", lang) or self.check
        return f"{name} · {self.subject}" if self.subject else name

    def message(self, lang: str = "es") -> str:
        return self._text(f"doctor.{self.check}.{self.reason}", lang) or self._text(
            f"doctor.{self.reason}", lang
        )

    def fix(self, lang: str = "es") -> str:
        """How to fix it (empty when ok)."""
        if self.ok:
            return ""
        return self._text(f"doctor.{self.check}.{self.reason}.fix", lang) or self._text(
            f"doctor.{self.reason}.fix", lang
        )


def problems(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if not f.ok]
