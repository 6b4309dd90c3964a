"""Ordinary borrower sentences keep every character: dates, amounts, loan terms, rates, mileages, times.

The masking looks for numbers in any grouping, so these property tests guard the other side: 1,000
generated English and 1,000 Chinese sentences of the kind borrowers write about their loans, none
holding a personal number, must come back unchanged.
"""

from __future__ import annotations

import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from handoff.masking import mask

EXAMPLES = settings(max_examples=1000, deadline=None)
DAYS = st.dates(min_value=datetime.date(1990, 1, 1), max_value=datetime.date(2035, 12, 31))


@st.composite
def en_date(draw: st.DrawFn) -> str:
    d = draw(DAYS)
    style = draw(st.sampled_from(["%Y-%m-%d", "%m/%d/%Y", "%d/%m/%Y", "%B %d, %Y", "%d %b %Y", "%Y/%m/%d",
                                  "%Y.%m.%d", "%m-%d-%Y", "%d.%m.%Y", "%b %d"]))
    return d.strftime(style)


@st.composite
def zh_date(draw: st.DrawFn) -> str:
    d = draw(DAYS)
    style = draw(st.sampled_from(["{y}年{m}月{d}日", "{m}月{d}日", "{y}-{mm}-{dd}", "{y}/{m}/{d}", "{y}.{mm}.{dd}",
                                  "{y}年{m}月", "{mm}-{dd}"]))
    return style.format(y=d.year, m=d.month, d=d.day, mm=f"{d.month:02d}", dd=f"{d.day:02d}")


@st.composite
def amount(draw: st.DrawFn) -> str:
    value = draw(st.integers(1, 2_000_000))
    cents = draw(st.integers(0, 99))
    style = draw(st.sampled_from(["{:,}", "{}", "{:,}.{:02d}", "{}.{:02d}", "${:,}", "${:,}.{:02d}", "{} 000"]))
    return style.format(value if "000" not in style else value // 1000 or 1, cents)


@st.composite
def time_of_day(draw: st.DrawFn) -> str:
    h, m = draw(st.integers(0, 23)), draw(st.integers(0, 59))
    return draw(st.sampled_from([f"{h:02d}:{m:02d}", f"{h}:{m:02d}", f"{h % 12 or 12}:{m:02d} pm", f"{h}点{m}分"]))


EN = [
    "I paid {amount} on {date}.",
    "My payment of {amount} was due on {date} but I paid on {date2}.",
    "The loan term is {term} months at {rate}% APR, {amount} a month.",
    "Between {date} and {date2} I made {count} payments of {amount}.",
    "The car has {miles} miles on it, it is a {year} model.",
    "Odometer reads {km} km, bought on {date} for {amount}.",
    "Can I pay {amount} on {date} {time} instead of {amount2}?",
    "Payment {count} of {term} is {amount}, due {date}.",
    "I have {term} payments left, the last one on {date}.",
    "My {term}-month loan from {year} has {amount} remaining.",
    "Call me after {time} on {date}, I owe {amount} and {amount2} in fees.",
    "I was charged a late fee of {amount} on {date} {time}.",
    "Interest rate {rate}%, term {term} months, down payment {amount}, mileage {miles}.",
    "Statement dated {date} shows {amount}; my bank shows {amount2} on {date2}.",
    "I drove {km} km in {year} and {km2} km in {year2}.",
    "Room 1203, floor {count}, I will be home from {time} to {time2}.",
]
ZH = [
    "我在{date}还了{amount}元。",
    "贷款期限{term}期，月供{amount}元，年利率{rate}%。",
    "车已经开了{km}公里，是{year}年的车。",
    "第{count}期还款日是{date}，金额{amount}元",
    "我{date}到{date2}之间一共还了{amount}元",
    "里程{wan}万公里，首付{amount}元，期限{term}个月",
    "{date}{time}我转了{amount}元，还差{amount2}元",
    "提前还款需要付{rate}%的违约金吗？剩余本金{amount}元",
    "我的车是{year}款，买的时候{amount}元，贷了{term}期",
    "逾期{count}天了，罚息{amount}元，{date}之前能还清",
    "这个月{date}扣款{amount}元，上个月{date2}扣了{amount2}元",
    "每月{day}号还款，还剩{term}期，每期{amount}元",
    "{year}年{count}月开始还款，总共{amount}元",
    "我想把还款日从{day}号改到{day2}号，从{date}开始",
]


@st.composite
def sentence(draw: st.DrawFn, templates: list[str], date: st.SearchStrategy[str]) -> str:
    template = draw(st.sampled_from(templates))
    return template.format(
        date=draw(date), date2=draw(date), amount=draw(amount()), amount2=draw(amount()),
        term=draw(st.sampled_from([12, 24, 36, 48, 60, 72, 84])), rate=draw(st.decimals("0.5", "29.99", places=2)),
        count=draw(st.integers(1, 84)), miles=draw(st.sampled_from(["{:,}", "{}"])).format(draw(st.integers(0, 250_000))),
        km=draw(st.integers(0, 400_000)), km2=draw(st.integers(0, 400_000)), year=draw(st.integers(1995, 2030)),
        year2=draw(st.integers(1995, 2030)), time=draw(time_of_day()), time2=draw(time_of_day()),
        wan=draw(st.decimals("0.1", "40", places=1)), day=draw(st.integers(1, 28)), day2=draw(st.integers(1, 28)),
    )


@given(text=sentence(EN, en_date()))
@EXAMPLES
def test_english_sentences_are_left_alone(text: str) -> None:
    result = mask(text)
    assert result.text == text and result.kinds == (), result


@given(text=sentence(ZH, zh_date()))
@EXAMPLES
def test_chinese_sentences_are_left_alone(text: str) -> None:
    result = mask(text)
    assert result.text == text and result.kinds == (), result
