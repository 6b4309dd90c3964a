"""Car-loan servicing vocabulary: wordings that name one concept, in both languages.

Borrowers and lenders name the same thing differently ("auto debit" / "autopay", 代扣 / 自动扣款, 还清 / 结清).
A text that uses any wording of a concept also gets the concept's token (``~autopay``), so lexical search
matches across wordings on any lender's FAQs. General domain words only: nothing here names one lender's
FAQ. Measured in benchmarks/kb_lenders.py (with and without).
"""

from __future__ import annotations

import re

CONCEPTS: dict[str, tuple[str, ...]] = {
    "autopay": ("autopay", "auto pay", "auto-pay", "automatic payment", "automatic payments", "automatic draft",
                "automatic drafts", "auto draft", "autodraft", "auto debit", "automatic debit", "automatic monthly debit",
                "automatic withdrawal", "automatic withdrawals", "recurring payment", "recurring payments",
                "direct debit", "自动扣款", "自动还款", "代扣", "自动划扣", "自动扣", "自动划款"),
    "payoff": ("payoff", "pay off", "paid off", "pay it off", "pay the whole", "close out", "settle",
               "settlement", "paid in full", "结清", "还清", "还完", "一次性还", "全部还掉", "全还了"),
    "prepay": ("prepay", "prepayment", "pay early", "paying early", "early payoff", "ahead of schedule",
               "before the term", "提前还", "提前结清", "提前还款"),
    "late": ("late fee", "late charge", "late charges", "late payment", "paying late", "pay late", "penalty",
             "逾期", "滞纳金", "罚息", "罚款", "罚金", "晚还"),
    "grace": ("grace", "leeway", "buffer", "cushion", "宽限", "缓冲"),
    "lien": ("lien", "lienholder", "lien release", "解押", "解除抵押", "抵押登记"),
    "title": ("title", "registration certificate", "green book", "登记证书", "绿本"),
    "credit": ("credit report", "credit bureau", "credit bureaus", "credit score", "credit history",
               "credit file", "credit record", "credit agencies", "征信", "信用记录", "信用报告", "信用分"),
    "dispute": ("dispute", "mistake", "incorrect", "error", "wrong", "challenge", "异议", "申诉", "有误", "更正",
                "错了"),
    "defer": ("extension", "defer", "deferral", "deferment", "postpone", "push back", "push a payment",
              "skip a payment", "move a payment", "展期", "延期", "顺延", "推迟", "往后推", "缓一缓"),
    "hardship": ("hardship", "lost my job", "laid off", "can't afford", "cant afford", "struggling",
                 "unemployed", "lost my income", "困难", "失业", "还不起", "还不上", "手头紧"),
    "due_date": ("due date", "payment date", "payment day", "repayment date", "还款日", "扣款日", "还款日期"),
    "statement": ("statement", "statements", "monthly bill", "账单", "对账单"),
    "login": ("password", "locked out", "log in", "login", "sign in", "username", "密码", "登录", "锁定", "登不上"),
    "insurance": ("insurance", "coverage", "policy", "deductible", "保险", "车险", "保单", "免赔"),
    "total_loss": ("totaled", "total loss", "written off", "write off", "destroyed", "全损", "报废"),
    "repossession": ("repossess", "repossessed", "repossession", "repo", "towed", "收车", "拖走", "被收回"),
    "complaint": ("complaint", "complain", "grievance", "投诉"),
    "co_borrower": ("cosigner", "co-signer", "cosigned", "co-borrower", "共同借款人", "共借人"),
    "refund": ("refund", "overpaid", "overpayment", "退款", "多付", "退回", "多打了"),
    "address": ("address", "moved", "moving", "relocating", "地址", "搬家", "住址"),
    "phone": ("phone number", "mobile number", "cell number", "手机号", "电话号码"),
    "sell": ("sell", "selling", "sold", "trade in", "trade-in", "卖车", "卖掉", "置换", "过户", "转让"),
    "contact": ("phone number", "customer service", "hours", "open on", "客服", "几点", "上班"),
    "fraud": ("scam", "scammer", "phishing", "fraud", "identity theft", "诈骗", "骗子", "钓鱼", "冒用"),
}


# Products and things that are not a car loan. A query naming one that none of the KB's FAQs (of that
# language) names is most likely about another lender's product ("can I prepay my mortgage", 信用卡怎么提前还款):
# the decision gets that as a feature (``foreign``), whatever else the query shares with the FAQs.
OTHER_PRODUCTS: tuple[str, ...] = (
    "credit card", "mortgage", "home loan", "home equity", "heloc", "student loan", "personal loan",
    "business loan", "line of credit", "savings account", "certificate of deposit", "brokerage", "stock",
    "stocks", "bitcoin", "crypto", "401k", "retirement account", "boat", "motorcycle", "rv", "camper",
    "netflix", "tax return", "pension",
    # looking after the car is the garage's business, not the lender's
    "repair", "repairs", "windshield", "oil change", "tire", "tires", "mechanic", "car wash",
    "信用卡", "房贷", "房屋贷款", "按揭", "助学贷款", "学生贷款", "花呗", "借呗", "白条", "股票", "基金", "比特币",
    "存款", "定期", "理财", "公积金", "医保", "个税", "社保", "摩托车", "房车", "游艇", "经营贷", "消费贷", "信用贷",
    "手机银行", "保养", "维修", "修车", "机油", "轮胎", "洗车", "违章", "年检", "驾照", "加油",
)


def _latin(words: tuple[str, ...]) -> re.Pattern[str]:
    latin = sorted((w for w in words if w.isascii()), key=len, reverse=True)
    return re.compile("|".join(rf"\b{re.escape(w)}(?:s|es)?\b" for w in latin))


def _cjk(words: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(w) for w in sorted((w for w in words if not w.isascii()), key=len,
                                                             reverse=True)))


# One token per concept and script: an English wording never matches a Chinese FAQ through the concept (the
# cross-lingual fallback is for clear answers in the other language, not for shared synonyms).
_MATCHERS = tuple((f"~{name}", _latin(words), f"~{name}-zh", _cjk(words)) for name, words in CONCEPTS.items())


_OTHER = tuple((f"~other:{w}", _latin((w,)) if w.isascii() else _cjk((w,))) for w in OTHER_PRODUCTS)


def concept_tokens(text: str) -> list[str]:
    """``~concept`` (English wordings) and ``~concept-zh`` (Chinese ones) for every concept the cleaned,
    lower-cased text names."""
    out = []
    for en_token, en_pattern, zh_token, zh_pattern in _MATCHERS:
        if en_pattern.search(text):
            out.append(en_token)
        if zh_pattern.search(text):
            out.append(zh_token)
    out.extend(token for token, pattern in _OTHER if pattern.search(text))
    return out
