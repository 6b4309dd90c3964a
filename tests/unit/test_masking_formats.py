"""Every kind of personal number from issue 11, generated valid, in every format, masked whole.

Each property test draws 1,000 valid numbers of one kind and writes each of them in four formats:
grouped (the usual grouping with spaces), separated (one of the separators borrowers use between
groups: dots, double spaces, tabs, newlines, NBSP, `/`, `_`, en dash, dash), full-width (digits,
letters and separators), and glued to Chinese text without spaces. In every case the text between
the words around the number must be exactly one mask tag: nothing of the number is left.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import phonenumbers
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from stdnum import iban, luhn
from stdnum.cn import ric
from stdnum.us import rtn, ssn

from handoff.masking import mask
from handoff.pii.codes import vin_check_char

EXAMPLES = settings(max_examples=1000, deadline=None)
SEPARATORS = st.sampled_from([".", "  ", "\t", "\n", "\u00a0", "/", "_", "\u2013", "-", " - ", "\t\t", " \n "])
TAG = r"\[(?:CARD|ID|PHONE|SSN|IBAN|ROUTING|ACCOUNT|EMAIL|VIN|LOAN)(?: \*{4}[0-9]{4})?\]"
DIGITS = "0123456789"


def full_width(text: str) -> str:
    return "".join(
        "\u3000" if ch == " " else chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text
    )


def formats(groups: list[str], sep: str, *, glued: str | None = None) -> dict[str, str]:
    """The four ways of writing a number made of `groups` (glued: how it is written without gaps)."""
    return {
        "grouped": " ".join(groups),
        "separated": sep.join(groups),
        "full-width": full_width(sep.join(groups)),
        "glued to Chinese": glued if glued is not None else "".join(groups),
    }


CONTEXTS = {
    "grouped": ("my number is ", " thanks"),
    "separated": ("here: ", " ok?"),
    "full-width": ("号码是 ", "，谢谢"),
    "glued to Chinese": ("号码", "请查一下"),
}


def assert_masked(
    groups: list[str], sep: str, kinds: set[str], *, glued: str | None = None, glued_pre: str = "号码"
) -> None:
    for name, written in formats(groups, sep, glued=glued).items():
        pre, post = CONTEXTS[name]
        pre = glued_pre if name == "glued to Chinese" else pre
        result = mask(pre + written + post)
        assert result.text.startswith(pre) and result.text.endswith(post), (name, written, result)
        middle = result.text[len(pre) : len(result.text) - len(post)]
        assert re.fullmatch(TAG, middle), (name, written, result.text)
        assert set(result.kinds) <= kinds, (name, written, result.kinds)


def _fours(value: str) -> list[str]:
    return [value[i : i + 4] for i in range(0, len(value), 4)]


def _complete(body: str, valid: Callable[[str], bool], alphabet: str = DIGITS) -> str:
    return next(body + c for c in alphabet if valid(body + c))


@st.composite
def cards(draw: st.DrawFn) -> str:
    prefix, length = draw(
        st.sampled_from([("4", 16), ("51", 16), ("55", 16), ("2221", 16), ("34", 15), ("37", 15), ("6011", 16),
                         ("62", 16), ("62", 19), ("35", 16), ("4", 13)])
    )
    body = prefix + draw(st.text(DIGITS, min_size=length - len(prefix) - 1, max_size=length - len(prefix) - 1))
    return _complete(body, luhn.is_valid)


@given(card=cards(), sep=SEPARATORS)
@EXAMPLES
def test_cards_in_every_format(card: str, sep: str) -> None:
    groups = [card[:4], card[4:10], card[10:]] if len(card) == 15 else _fours(card)  # Amex: 4-6-5
    assert_masked(groups, sep, {"card", "cn_id"})  # a 15- or 18-digit card can also be a valid ID


REGIONS = ["110105", "310101", "440305", "510104", "330106", "420102", "610113", "210102", "370202"]


@st.composite
def birth(draw: st.DrawFn, years: tuple[int, int]) -> str:
    year, month, day = draw(st.integers(*years)), draw(st.integers(1, 12)), draw(st.integers(1, 28))
    return f"{year:04d}{month:02d}{day:02d}"


@given(region=st.sampled_from(REGIONS), born=birth((1930, 2010)), serial=st.integers(0, 999), sep=SEPARATORS)
@EXAMPLES
def test_resident_ids_in_every_format(region: str, born: str, serial: int, sep: str) -> None:
    first17 = f"{region}{born}{serial:03d}"
    value = first17 + ric.calc_check_digit(first17 + "0")
    assert_masked([value[:6], value[6:14], value[14:]], sep, {"cn_id"})


@given(region=st.sampled_from(REGIONS), born=birth((1930, 1999)), serial=st.integers(0, 999), sep=SEPARATORS)
@EXAMPLES
def test_old_15_digit_resident_ids_in_every_format(region: str, born: str, serial: int, sep: str) -> None:
    value = f"{region}{born[2:]}{serial:03d}"
    assert_masked([value[:6], value[6:12], value[12:]], sep, {"cn_id", "card"})  # may be Luhn-valid too


@given(
    prefix=st.sampled_from(["13", "14", "15", "16", "17", "18", "19"]),
    rest=st.text(DIGITS, min_size=9, max_size=9),
    plus86=st.booleans(),
    sep=SEPARATORS,
)
@EXAMPLES
def test_cn_mobiles_in_every_format(prefix: str, rest: str, plus86: bool, sep: str) -> None:
    number = prefix + rest
    groups = ([ "+86"] if plus86 else []) + [number[:3], number[3:7], number[7:]]
    assert_masked(groups, sep, {"phone"}, glued=("+86" if plus86 else "") + number)


@given(
    area=st.sampled_from(["010", "021", "020", "022", "023", "024", "025", "027", "028", "029", "0755", "0571",
                          "0512", "0731", "0532"]),
    local=st.text(DIGITS, min_size=8, max_size=8).filter(lambda s: s[0] in "2345678"),
    sep=SEPARATORS,
)
@EXAMPLES
def test_cn_landlines_in_every_format(area: str, local: str, sep: str) -> None:
    assume(phonenumbers.is_valid_number(phonenumbers.parse(area + local, "CN")))
    assert_masked([area, local[:4], local[4:]], sep, {"phone"})


INTERNATIONAL = [
    (region, kind)
    for region in ["GB", "DE", "FR", "JP", "AU", "IN", "SG", "HK", "BR", "KR", "ES", "IT", "NL", "CA"]
    for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE)
]


@given(kind=st.sampled_from(INTERNATIONAL), last=st.text(DIGITS, min_size=4, max_size=4), sep=SEPARATORS)
@EXAMPLES
def test_international_numbers_in_every_format(kind: tuple[str, int], last: str, sep: str) -> None:
    example = phonenumbers.example_number_for_type(*kind)
    national = str(example.national_number)[:-4] + last
    number = phonenumbers.parse(f"+{example.country_code}{national}")
    assume(phonenumbers.is_valid_number(number))
    shown = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)  # +44 20 7946 0958
    glued = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    assert_masked(re.split(r"[ -]", shown), sep, {"phone"}, glued=glued)


@given(area=st.integers(200, 999), exchange=st.integers(200, 999), line=st.integers(0, 9999), sep=SEPARATORS)
@EXAMPLES
def test_north_american_numbers_in_every_format(area: int, exchange: int, line: int, sep: str) -> None:
    assert_masked([f"({area})", str(exchange), f"{line:04d}"], sep, {"phone"}, glued=f"{area}{exchange}{line:04d}")


@given(area=st.integers(1, 899), group=st.integers(1, 99), serial=st.integers(1, 9999), sep=SEPARATORS)
@EXAMPLES
def test_us_ssns_in_every_format(area: int, group: int, serial: int, sep: str) -> None:
    value = f"{area:03d}{group:02d}{serial:04d}"
    assume(ssn.is_valid(value))
    # Glued, nine digits are only an SSN when they are called one.
    assert_masked([value[:3], value[3:5], value[5:]], sep, {"ssn"}, glued=value, glued_pre="社保号")


IBAN_SHAPES = {"DE": "18n", "GB": "4a14n", "NL": "4a10n", "FR": "23n", "ES": "20n", "IT": "1a22n", "CH": "17n",
               "AT": "16n", "BE": "12n", "PL": "24n"}


@st.composite
def ibans(draw: st.DrawFn) -> str:
    country = draw(st.sampled_from(sorted(IBAN_SHAPES)))
    bban = ""
    for count, kind in re.findall(r"(\d+)([an])", IBAN_SHAPES[country]):
        bban += draw(st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ" if kind == "a" else DIGITS,
                             min_size=int(count), max_size=int(count)))
    value = country + iban.calc_check_digits(country + "00" + bban) + bban
    assume(iban.is_valid(value))  # some countries add a national check digit
    return value


@given(value=ibans(), sep=SEPARATORS)
@EXAMPLES
def test_ibans_in_every_format(value: str, sep: str) -> None:
    assert_masked(_fours(value), sep, {"iban"})


@given(
    head=st.sampled_from(["01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "21", "26",
                          "31", "32"]),
    body=st.text(DIGITS, min_size=6, max_size=6),
    account=st.text(DIGITS, min_size=6, max_size=17),
    sep=SEPARATORS,
    zh=st.booleans(),
)
@EXAMPLES
def test_routing_and_account_numbers_in_every_format(head: str, body: str, account: str, sep: str, zh: bool) -> None:
    routing = _complete(head + body, rtn.is_valid)
    words = ("路由号", "，账号") if zh else ("routing number ", ", account ")
    for name, (shown_routing, shown_account) in {
        "grouped": (routing, " ".join(_fours(account))),
        "separated": (sep.join([routing[:3], routing[3:6], routing[6:]]), sep.join(_fours(account))),
        "full-width": (full_width(routing), full_width(" ".join(_fours(account)))),
        "glued to Chinese": (routing, account),
    }.items():
        text = f"我的{words[0]}{shown_routing}{words[1]}{shown_account}谢谢"
        result = mask(text)
        assert re.fullmatch(rf"我的{words[0]}{TAG}{words[1]}{TAG}谢谢", result.text), (name, text, result.text)
        assert result.kinds[0] == "routing" and set(result.kinds) <= {"routing", "account", "card", "cn_id"}


VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


@st.composite
def vins(draw: st.DrawFn) -> str:
    wmi = draw(st.sampled_from(["1HG", "2T1", "3VW", "4T1", "5YJ", "JHM", "LSV", "LFV", "WVW", "KMH", "SAL"]))
    rest = draw(st.text(VIN_CHARS, min_size=8, max_size=8))
    serial = draw(st.text(DIGITS, min_size=6, max_size=6))
    vin = wmi + rest + serial
    return vin[:8] + vin_check_char(vin[:8] + "0" + vin[9:]) + vin[9:] if vin[0] in "12345" else vin


@given(vin=vins(), sep=SEPARATORS)
@EXAMPLES
def test_vins_in_every_format(vin: str, sep: str) -> None:
    assert_masked([vin[:5], vin[5:10], vin[10:]], sep, {"vin"})


@given(digits=st.text(DIGITS, min_size=8, max_size=8), sep=SEPARATORS, lower=st.booleans())
@EXAMPLES
def test_loan_numbers_in_every_format(digits: str, sep: str, lower: bool) -> None:
    nw = "nw" if lower else "NW"
    assert_masked([f"{nw}-{digits[:4]}", digits[4:]], sep, {"loan"})  # NW-2024 0117, NW-2024.0117, ...
    assert_masked([nw, digits[:4], digits[4:]], sep, {"loan"}, glued=f"{nw}_{digits}")  # NW_20240117


@given(
    local=st.from_regex(r"[a-z][a-z0-9._]{0,10}[a-z0-9]", fullmatch=True),
    domain=st.sampled_from(["example.com", "mail.qq.com", "163.com", "bank.co.uk", "northwind-auto.cn"]),
)
@EXAMPLES
def test_emails_in_every_format(local: str, domain: str) -> None:
    for written in [f"{local}@{domain}", f"{local}\uff20{domain}", full_width(f"{local}@{domain}")]:
        for pre, post in [("mail me at ", " thanks"), ("邮箱", "谢谢"), ("邮箱：", "，谢谢")]:
            result = mask(pre + written + post)
            assert result.text == f"{pre}[EMAIL]{post}" and result.kinds == ("email",), (written, result.text)
