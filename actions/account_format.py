"""Figures in the borrower's language: amounts with the loan's currency, days written out (babel)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal

LOCALES = {"en": "en_US", "zh": "zh_CN"}


def money(amount: str | Decimal, currency: str, lang: str) -> str:
    return str(format_currency(Decimal(amount), currency, locale=LOCALES.get(lang, "en_US")))


def day(value: str | date, lang: str) -> str:
    parsed = date.fromisoformat(value) if isinstance(value, str) else value
    return str(format_date(parsed, "long", locale=LOCALES.get(lang, "en_US")))


def percent(value: str | Decimal, lang: str) -> str:
    return str(format_decimal(Decimal(value), format="#,##0.00#", locale=LOCALES.get(lang, "en_US")))
