"""A reminder's words: the editors' template of its kind and language (knowledge_base/reminders/) with the
placeholders formatted for that language (amounts with their currency, dates as the borrower reads them)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from handoff.errors import UnavailableError
from knowledge_base.reminder_templates import ReminderTemplates, read_templates

DEFAULT_FOLDER = Path(__file__).resolve().parents[2] / "knowledge_base" / "reminders"
SYMBOLS = {"USD": "$", "CNY": "¥"}
ZH_CURRENCY = {"USD": "美元", "CNY": "元"}
DATE_KEYS = ("due_date", "past_due_since", "letter_date", "failed_on")
AMOUNT_KEYS = ("amount", "amount_past_due")


def load(folder: Path = DEFAULT_FOLDER) -> ReminderTemplates:
    """The templates, refusing a folder `python -m knowledge_base validate` would refuse."""
    found = read_templates(folder, folder.parents[1])
    if found.issues:
        raise UnavailableError(f"reminder templates have problems, first: {found.issues[0]}; run "
                               "`python -m knowledge_base validate`")
    return found


def format_amount(value: str, currency: str, lang: str) -> str:
    try:
        amount = Decimal(value)
    except (InvalidOperation, ValueError):
        return value
    shown = f"{amount:,.2f}"
    if lang == "zh":
        return f"{shown} {ZH_CURRENCY.get(currency, currency)}"
    symbol = SYMBOLS.get(currency)
    return f"{symbol}{shown}" if symbol else f"{shown} {currency}"


def format_date(value: str, lang: str) -> str:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return value
    if lang == "zh":
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day:%B} {day.day}, {day.year}"


def placeholders(data: dict[str, str], lang: str) -> dict[str, str]:
    values = dict(data)
    for key in DATE_KEYS:
        if key in values:
            values[key] = format_date(values[key], lang)
    for key in AMOUNT_KEYS:
        if key in values:
            values[key] = format_amount(values[key], data.get("currency", ""), lang)
    return values


def render(templates: ReminderTemplates, *, kind: str, lang: str, data: dict[str, str]) -> tuple[str, str]:
    """(title, body) of the reminder in `lang` (English when that language has no template)."""
    return templates.get(kind, lang).render(placeholders(data, lang))
