"""Business hours: "mon-fri 08:00-20:00, sat 09:00-13:00" in a named time zone.

Parsed once from settings; `is_open(when)` answers whether agents are expected to be on shift.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALWAYS = ("", "always", "24/7")


class BusinessHoursError(ValueError):
    """The BUSINESS_HOURS setting cannot be parsed; the message says which part and why."""


@dataclass(frozen=True)
class Window:
    weekday: int  # 0 = Monday
    start: time
    end: time  # exclusive; 24:00 is written as time.max


@dataclass(frozen=True)
class BusinessHours:
    windows: tuple[Window, ...]
    tz: ZoneInfo
    always_open: bool = False

    def is_open(self, when: datetime) -> bool:
        if self.always_open:
            return True
        local = when.astimezone(self.tz)
        now = local.time()
        return any(w.weekday == local.weekday() and w.start <= now < w.end for w in self.windows)


def _parse_time(value: str, spec: str) -> time:
    if value == "24:00":
        return time.max
    try:
        hours, minutes = value.split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise BusinessHoursError(f"BUSINESS_HOURS: {value!r} in {spec!r} is not a time like 08:00") from None


def _parse_days(value: str, spec: str) -> list[int]:
    if "-" in value:
        first, last = value.split("-", 1)
    else:
        first = last = value
    if first not in DAYS or last not in DAYS:
        raise BusinessHoursError(f"BUSINESS_HOURS: {value!r} in {spec!r} must use days mon..sun, e.g. mon-fri")
    start, end = DAYS.index(first), DAYS.index(last)
    if end < start:
        raise BusinessHoursError(f"BUSINESS_HOURS: day range {value!r} in {spec!r} runs backwards")
    return list(range(start, end + 1))


def parse_business_hours(spec: str, tz_name: str = "UTC") -> BusinessHours:
    """Parse e.g. "mon-fri 08:00-20:00, sat 09:00-13:00"; "always" (or empty) means never closed."""
    tz = ZoneInfo(tz_name)
    normalized = spec.strip().lower()
    if normalized in ALWAYS:
        return BusinessHours(windows=(), tz=tz, always_open=True)
    windows: list[Window] = []
    for part in normalized.split(","):
        pieces = part.split()
        if len(pieces) != 2 or "-" not in pieces[1]:
            raise BusinessHoursError(f"BUSINESS_HOURS: {part.strip()!r} must look like 'mon-fri 08:00-20:00'")
        start_s, end_s = pieces[1].split("-", 1)
        start, end = _parse_time(start_s, part.strip()), _parse_time(end_s, part.strip())
        if end <= start:
            raise BusinessHoursError(f"BUSINESS_HOURS: {pieces[1]!r} ends before it starts")
        windows.extend(Window(day, start, end) for day in _parse_days(pieces[0], part.strip()))
    return BusinessHours(windows=tuple(windows), tz=tz)


_DAY_NAMES = {
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    "zh": ("周一", "周二", "周三", "周四", "周五", "周六", "周日"),
}


def describe_business_hours(spec: str, tz_name: str, lang: str) -> str:
    """The BUSINESS_HOURS setting as a borrower reads it: "周一至周五 08:00-20:00，周六 09:00-13:00 (Asia/Shanghai)"."""
    names = _DAY_NAMES.get(lang, _DAY_NAMES["en"])
    to_word, joiner = ("至", "，") if lang == "zh" else ("-", ", ")
    normalized = spec.strip().lower()
    if normalized in ALWAYS:
        return "24/7"
    parts = []
    for part in normalized.split(","):
        days, hours = part.split()
        first, _, last = days.partition("-")
        label = names[DAYS.index(first)] + (to_word + names[DAYS.index(last)] if last else "")
        parts.append(f"{label} {hours}")
    return f"{joiner.join(parts)} ({tz_name})"
