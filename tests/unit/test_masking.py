"""Masking of card, ID, phone, e-mail, VIN and loan numbers, on generated valid and near-miss values."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import luhn
from stdnum.cn import ric

from handoff.masking import mask
from handoff.pii.codes import vin_check_char

luhn_valid = luhn.is_valid


def cn_id_check_char(first17: str) -> str:
    return ric.calc_check_digit(first17 + "0")

FILLERS = st.sampled_from(["my number is ", "卡号", "请查一下", "hi, ", "", "账户 "])
TAILS = st.sampled_from([" thanks", "，谢谢", "", " ok?", "。"])


def luhn_complete(body: str) -> str:
    for d in "0123456789":
        if luhn_valid(body + d):
            return body + d
    raise AssertionError("unreachable")


@st.composite
def card_numbers(draw: st.DrawFn) -> str:
    length = draw(st.integers(13, 19))
    body = draw(st.text("0123456789", min_size=length - 1, max_size=length - 1).filter(lambda s: s[0] != "0"))
    return luhn_complete(body)


def group(digits: str, sep: str) -> str:
    return sep.join(digits[i : i + 4] for i in range(0, len(digits), 4)) if sep else digits


@given(card=card_numbers(), sep=st.sampled_from(["", " ", "-"]), pre=FILLERS, post=TAILS)
@settings(max_examples=200, deadline=None)
def test_valid_cards_are_masked_keeping_last4(card: str, sep: str, pre: str, post: str) -> None:
    result = mask(pre + group(card, sep) + post)
    if re.fullmatch(r"861[3-9]\d{9}", card):  # also a +86 mobile without the '+': masked as a phone
        assert result.kinds == ("phone",)
    else:
        assert result.kinds == ("card",) or "cn_id" in result.kinds  # an 18-digit card may also be a valid ID
    assert card not in re.sub(r"[ -]", "", result.text)
    if result.kinds == ("card",):
        assert f"****{card[-4:]}" in result.text
    assert result.text.startswith(pre) and result.text.endswith(post)


@given(card=card_numbers())
@settings(max_examples=200, deadline=None)
def test_near_miss_cards_are_left_alone(card: str) -> None:
    wrong = card[:-1] + str((int(card[-1]) + 1) % 10)  # a wrong check digit is never Luhn-valid
    result = mask(f"order {wrong} shipped")
    assert "card" not in result.kinds


@st.composite
def cn_ids(draw: st.DrawFn) -> str:
    region = draw(st.sampled_from(["110105", "310101", "440305", "510104"]))
    year = draw(st.integers(1940, 2006))
    month = draw(st.integers(1, 12))
    day = draw(st.integers(1, 28))
    serial = draw(st.integers(0, 999))
    first17 = f"{region}{year:04d}{month:02d}{day:02d}{serial:03d}"
    return first17 + cn_id_check_char(first17)


@given(value=cn_ids(), pre=FILLERS, post=TAILS)
@settings(max_examples=200, deadline=None)
def test_valid_cn_ids_are_masked(value: str, pre: str, post: str) -> None:
    result = mask(pre + value + post)
    assert result.kinds == ("cn_id",)
    assert value not in result.text and "[ID]" in result.text


@given(value=cn_ids())
@settings(max_examples=200, deadline=None)
def test_cn_ids_with_wrong_checksum_are_not_ids(value: str) -> None:
    wrong = value[:17] + next(c for c in "0123456789X" if c != value[17])
    assert "cn_id" not in mask(f"编号{wrong}").kinds


@given(
    prefix=st.sampled_from(["13", "14", "15", "16", "17", "18", "19"]),
    rest=st.text("0123456789", min_size=9, max_size=9),
    style=st.sampled_from(
        ["{}", "+86 {}", "+86{}", "86-{}", "{a} {b} {c}", "{a}-{b}-{c}", "+86 {a} {b} {c}"]
    ),
    pre=FILLERS,
)
@settings(max_examples=200, deadline=None)
def test_cn_mobile_numbers_are_masked(prefix: str, rest: str, style: str, pre: str) -> None:
    number = prefix + rest
    shown = style.format(number, a=number[:3], b=number[3:7], c=number[7:])
    result = mask(pre + shown + " 谢谢")
    assert result.kinds == ("phone",)
    assert number not in re.sub(r"[ -]", "", result.text)


@given(
    area=st.integers(200, 999),
    exchange=st.integers(200, 999),
    line=st.integers(0, 9999),
    style=st.sampled_from(["({a}) {e}-{l}", "{a}-{e}-{l}", "+1 {a} {e} {l}", "{a}.{e}.{l}", "1-{a}-{e}-{l}"]),
)
@settings(max_examples=200, deadline=None)
def test_nanp_numbers_are_masked(area: int, exchange: int, line: int, style: str) -> None:
    text = "call me at " + style.format(a=area, e=exchange, l=f"{line:04d}") + " tonight"
    result = mask(text)
    assert result.kinds == ("phone",)
    assert result.text == "call me at [PHONE] tonight"


def test_near_miss_phones_are_left_alone() -> None:
    for text in ["12800138000", "1380013800", "138001380001", "amount 5551234", "(155) 555-1234"]:
        assert "phone" not in mask(text).kinds, text


@given(
    local=st.from_regex(r"[a-z][a-z0-9._]{0,10}", fullmatch=True),
    domain=st.sampled_from(["example.com", "mail.qq.com", "163.com", "bank.co.uk"]),
)
@settings(max_examples=100, deadline=None)
def test_emails_are_masked(local: str, domain: str) -> None:
    result = mask(f"邮箱：{local}@{domain}，谢谢")
    assert result.kinds == ("email",)
    assert result.text == "邮箱：[EMAIL]，谢谢"


VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


@st.composite
def na_vins(draw: st.DrawFn) -> str:
    first = draw(st.sampled_from("12345"))
    rest = draw(st.text(VIN_CHARS, min_size=16, max_size=16))
    vin = first + rest[:7] + "0" + rest[8:]
    vin = vin[:8] + vin_check_char(vin) + vin[9:]
    if vin.isdigit():
        vin = vin[:10] + "A" + vin[11:]
        vin = vin[:8] + vin_check_char(vin) + vin[9:]
    return vin


@given(vin=na_vins(), lower=st.booleans())
@settings(max_examples=200, deadline=None)
def test_north_american_vins_with_check_digit_are_masked(vin: str, lower: bool) -> None:
    shown = vin.lower() if lower else vin
    result = mask(f"VIN: {shown}, 车架号")
    assert result.kinds == ("vin",)
    assert result.text == "VIN: [VIN], 车架号"


@given(vin=na_vins())
@settings(max_examples=200, deadline=None)
def test_vins_with_wrong_check_digit_or_forbidden_letters_are_left_alone(vin: str) -> None:
    wrong = vin[:8] + next(c for c in "0123456789X" if c != vin[8]) + vin[9:]
    assert "vin" not in mask(f"VIN {wrong}").kinds
    with_o = vin[:3] + "O" + vin[4:]
    assert "vin" not in mask(f"VIN {with_o}").kinds


def test_known_vins() -> None:
    assert mask("1HGCM82633A004352").kinds == ("vin",)  # a textbook-valid NA VIN
    assert mask("1HGCM82643A004352").kinds == ()  # same with a wrong check digit
    assert mask("车架号LSVAU2180N2183294请查").text == "车架号[VIN]请查"  # Chinese VIN: no check digit rule


@given(
    digits=st.text("0123456789", min_size=8, max_size=8),
    form=st.sampled_from(["NW-{}", "NW{}", "nw-{}", "NW {}"]),
)
@settings(max_examples=100, deadline=None)
def test_loan_numbers_are_masked(digits: str, form: str) -> None:
    result = mask("我的贷款编号是" + form.format(digits) + "。")
    assert result.kinds == ("loan",)
    assert result.text == f"我的贷款编号是[LOAN ****{digits[-4:]}]。"


def test_loan_number_near_misses() -> None:
    for text in ["NW-1234567", "NW-123456789", "XNW-12345678", "NX-12345678"]:
        assert "loan" not in mask(text).kinds, text


def test_mixed_text_masks_everything_and_keeps_the_rest() -> None:
    text = (
        "Hi, loan NW-20240117, card 4111-1111-1111-1111, ID 11010519491231002X, "
        "phone 13800138000, mail li.lei@example.com, VIN 1HGCM82633A004352. I paid 12000 on 2024-05-01."
    )
    result = mask(text)
    assert result.kinds == ("loan", "card", "cn_id", "phone", "email", "vin")
    assert result.text == (
        "Hi, loan [LOAN ****0117], card [CARD ****1111], ID [ID], phone [PHONE], mail [EMAIL], VIN [VIN]. "
        "I paid 12000 on 2024-05-01."
    )


def test_plain_amounts_and_dates_are_not_masked() -> None:
    for text in ["I owe 25000.50", "due 2024-06-15", "order 123456789012", "月供3200元", "逾期3天了"]:
        assert mask(text).text == text


@pytest.mark.parametrize("sep", ["", " ", "-"])
def test_a_luhn_valid_cn_mobile_with_86_is_masked_however_grouped(sep: str) -> None:
    number = luhn_complete("861380013800")  # 86 + a mobile: also a 13-digit Luhn-valid "card"
    result = mask("call " + group(number, sep) + " please")
    assert result.kinds == ("phone",) and number[-4:] not in result.text
