"""Business hours: "mon-fri 08:00-20:00, sat 09:00-13:00" in a named time zone.

Parsed from settings; `is_open(when)` answers whether agents are expected to be on shift,
`next_opening(when)` when they are next, and `business_seconds(start, end)` how much of a stretch of
time fell inside the hours (the SLA clock counts only that). `describe` names the zone in words.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
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

    def _spans(self, day: date) -> list[tuple[datetime, datetime]]:
        """That local day's windows as UTC instants (so that DST changes count right)."""
        spans = []
        for w in sorted((w for w in self.windows if w.weekday == day.weekday()), key=lambda w: w.start):
            start = datetime.combine(day, w.start, tzinfo=self.tz).astimezone(UTC)
            end = (datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.tz) if w.end == time.max
                   else datetime.combine(day, w.end, tzinfo=self.tz)).astimezone(UTC)
            spans.append((start, end))
        return spans

    def next_opening(self, when: datetime) -> datetime | None:
        """`when` itself while open, else the start of the next window (None: no window at all)."""
        if self.always_open or self.is_open(when):
            return when
        first = when.astimezone(self.tz).date()
        for offset in range(8):
            for start, _end in self._spans(first + timedelta(days=offset)):
                if start > when:
                    return start
        return None

    def business_seconds(self, start: datetime, end: datetime) -> float:
        """Seconds between `start` and `end` that fell inside business hours."""
        if end <= start:
            return 0.0
        if self.always_open:
            return (end - start).total_seconds()
        total = 0.0
        day = start.astimezone(self.tz).date() - timedelta(days=1)
        last = end.astimezone(self.tz).date()
        while day <= last:
            for span_start, span_end in self._spans(day):
                overlap = (min(end, span_end) - max(start, span_start)).total_seconds()
                total += max(0.0, overlap)
            day += timedelta(days=1)
        return total

    def add_business_seconds(self, start: datetime, seconds: float) -> datetime:
        """The instant `seconds` of business time after `start` (a due time: "4 business hours")."""
        if self.always_open or not self.windows:
            return start + timedelta(seconds=seconds)
        left = seconds
        day = start.astimezone(self.tz).date() - timedelta(days=1)
        while True:
            for span_start, span_end in self._spans(day):
                begin = max(start, span_start)
                if begin >= span_end:
                    continue
                available = (span_end - begin).total_seconds()
                if available >= left:
                    return begin + timedelta(seconds=left)
                left -= available
            day += timedelta(days=1)

    def describe(self, lang: str) -> str:
        return describe_windows(self, lang)

    def describe_opening(self, when: datetime, lang: str) -> str:
        """"Monday 08:00 (Eastern Time, US)" / "周一 08:00（美国东部时间）": when agents are next on shift."""
        opening = self.next_opening(when)
        return "" if opening is None else self.describe_instant(opening, lang)

    def describe_instant(self, when: datetime, lang: str) -> str:
        """"Monday 5 Jan 08:00 (Eastern Time, US)" / "1月5日 周一 08:00（美国东部时间）"."""
        local = when.astimezone(self.tz)
        names = _LONG_DAY_NAMES.get(lang, _LONG_DAY_NAMES["en"])
        if lang == "zh":
            return f"{local.month}月{local.day}日 {names[local.weekday()]} {local:%H:%M}" + _zone_suffix(
                self.tz.key, lang)
        return f"{names[local.weekday()]} {local.day} {local:%b %H:%M}" + _zone_suffix(self.tz.key, lang)


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


@functools.lru_cache(maxsize=32)
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
_LONG_DAY_NAMES = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "zh": ("周一", "周二", "周三", "周四", "周五", "周六", "周日"),
}
# Time zones in words; any other zone is shown by its IANA name.
ZONE_NAMES: dict[str, dict[str, str]] = {
    "America/New_York": {"en": "Eastern Time, US", "zh": "美国东部时间"},
    "America/Chicago": {"en": "Central Time, US", "zh": "美国中部时间"},
    "America/Denver": {"en": "Mountain Time, US", "zh": "美国山地时间"},
    "America/Los_Angeles": {"en": "Pacific Time, US", "zh": "美国太平洋时间"},
    "Asia/Shanghai": {"en": "China Standard Time, Beijing", "zh": "北京时间"},
    "Asia/Hong_Kong": {"en": "Hong Kong Time", "zh": "香港时间"},
    "Europe/London": {"en": "UK time", "zh": "英国时间"},
    "UTC": {"en": "UTC", "zh": "协调世界时"},
}


def zone_in_words(tz_name: str, lang: str) -> str:
    return ZONE_NAMES.get(tz_name, {}).get(lang) or ZONE_NAMES.get(tz_name, {}).get("en") or tz_name


def _zone_suffix(tz_name: str, lang: str) -> str:
    words = zone_in_words(tz_name, lang)
    return f"（{words}）" if lang == "zh" else f" ({words})"


def describe_windows(hours: BusinessHours, lang: str) -> str:
    """The hours as a borrower reads them: "周一至周五 08:00-20:00，周六 09:00-13:00（北京时间）"."""
    if hours.always_open:
        return "24/7"
    names = _DAY_NAMES.get(lang, _DAY_NAMES["en"])
    to_word, joiner = ("至", "，") if lang == "zh" else ("-", ", ")
    groups: list[tuple[list[int], Window]] = []
    for window in hours.windows:
        if groups and groups[-1][1].start == window.start and groups[-1][1].end == window.end and (
            groups[-1][0][-1] == window.weekday - 1
        ):
            groups[-1][0].append(window.weekday)
        else:
            groups.append(([window.weekday], window))
    parts = []
    for days, window in groups:
        label = names[days[0]] + (to_word + names[days[-1]] if len(days) > 1 else "")
        end = "24:00" if window.end == time.max else f"{window.end:%H:%M}"
        parts.append(f"{label} {window.start:%H:%M}-{end}")
    return joiner.join(parts) + _zone_suffix(hours.tz.key, lang)


def describe_business_hours(spec: str, tz_name: str, lang: str) -> str:
    """The BUSINESS_HOURS setting as a borrower reads it, with the time zone in words."""
    return describe_windows(parse_business_hours(spec, tz_name), lang)


def business_hours_of(settings: Any) -> BusinessHours:
    """The BUSINESS_HOURS / BUSINESS_TZ of a Settings object (parsed once per distinct value)."""
    return parse_business_hours(settings.BUSINESS_HOURS, settings.BUSINESS_TZ)


def closed_until(settings: Any, now: datetime) -> datetime | None:
    """The next opening while outside business hours; None while open (or when there is no window)."""
    hours = business_hours_of(settings)
    opening = hours.next_opening(now)
    return None if opening is None or opening <= now else opening
