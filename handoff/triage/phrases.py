"""The words the local detector looks for, in English and Simplified Chinese.

English phrases are regular expressions matched on the lower-cased text between word boundaries;
Chinese phrases are substrings. Kept apart from the matching code so that content people can read
and extend them; `tests/unit/test_triage.py` holds the phrasings they were tuned on and
`benchmarks/eval/triage_*.tsv` a held-out set that was written before them.
"""

from __future__ import annotations

from typing import Final

_WHO: Final = (
    r"(?:a |an |the |some |one of (?:your|the) )?(?:real |live |actual |human |customer service |"
    r"support |loan )?(?:person|people|human|humans|human being|agent|rep|representative|operator|"
    r"staff(?: member)?|member of (?:staff|your team)|someone|somebody|anyone|anybody|officer|"
    r"customer service|manager|supervisor|employee)"
)
_VERB: Final = r"(?:talk|speak|chat|connect|transfer|put|get|hook|escalate|pass|send|switch|give|let)"

# A borrower asking for a person (any of these is enough).
PERSON_EN: Final[tuple[str, ...]] = (
    rf"\b{_VERB}\b[^.?!]{{0,30}}\b(?:to|with|me)\b[^.?!]{{0,12}}\b{_WHO}\b",
    (r"\b(?:want|need|like|prefer|rather|request|get|give)\b[^.?!]{0,20}\b(?:a |an |to )?(?:real |live |"
     r"actual )?(?:human|person|agent|representative|rep|operator|staff member|manager|supervisor)\b"),
    r"\b(?:real|live|actual) (?:person|human|agent|people|support|rep|representative)\b",
    (r"^\W*(?:a )?(?:human|person|agent|representative|rep|operator|live agent|real person|live support)"
     r"(?: please| now| pls)?\W*$"),
    r"\b(?:human|agent|representative|operator|person) (?:please|pls|now)\b",
    r"\bhuman being\b",
    r"\b(?:not|no|don'?t want|stop)(?: to talk to| talking to)? (?:a |the |this )?(?:bot|robot|machine)s?\b",
    r"\bis (?:anyone|anybody|someone|somebody) (?:there|here|real)\b",
    r"\bis there (?:anyone|anybody|someone|somebody|a person) (?:real|human|there|i can (?:talk|speak|chat) to)\b",
    r"\b(?:customer service|live support|live chat) (?:rep|agent|please|now)\b",
    r"\b(?:connect|transfer|escalate)\b[^.?!]{0,20}\b(?:customer service|support|a person|someone)\b",
    r"\b(?:customer service|a person|a human|someone)\b[^.?!]{0,10}\b(?:call|chat with|contact) me\b",
    r"\bone of your (?:people|staff|agents|team)\b",
    r"\b(?:someone|somebody|anyone|a person) (?:from|at|on) (?:your|the) (?:team|company|office|staff)\b",
)
# Near misses: "can someone else pay", "my insurance agent", "real estate agent".
NOT_PERSON_EN: Final[tuple[str, ...]] = (
    r"\b(?:someone|somebody|anyone) else\b",
    r"\b(?:insurance|real estate|estate|travel) agents?\b",
)

PERSON_ZH: Final[tuple[str, ...]] = (
    "转人工", "人工客服", "人工服务", "人工坐席", "接人工", "找人工", "要人工", "转真人", "真人", "客服人员",
    "和客服", "跟客服", "与客服", "找客服", "转接客服", "转客服", "接客服", "经理", "主管", "负责人",
    "不想跟机器人", "不要机器人", "不想和机器人", "有人吗",
)
PERSON_ZH_WHOLE: Final[tuple[str, ...]] = ("客服",)
# In a borrower's chat "人工" means a human agent unless it is "人工智能" (artificial intelligence); a
# verb before 客服 / 工作人员 / 员工 / 真人 asks for one of them.
PERSON_ZH_PATTERNS: Final[tuple[str, ...]] = (
    r"人工(?!智能)",
    r"不(?:想|要|愿意)(?:跟|和|与)?机器人",
    r"(?:找|联系|转|接|要|和|跟|与|叫|换)(?:一下|一个|个)?(?:你们)?的?(?:客服|工作人员|员工|真人|人来)",
)
NOT_PERSON_ZH: Final[tuple[str, ...]] = ("人工智能", "客服电话", "客服工作时间", "客服时间", "保险公司的人")

# Complaints and disputes: the borrower means to complain, contest a charge, or go to a regulator,
# court or the press. Threats of the regulator kind also count as anger (`bot/anger.py`).
COMPLAINT_EN: Final[tuple[str, ...]] = (
    r"\bcomplain(?:t|ts|ing|ed)?\b",
    r"\b(?:lodge|file|make|raise|submit|open)\b[^.?!]{0,20}\b(?:complaint|grievance|dispute)\b",
    r"\bdisput(?:e|ing|ed)\b",
    r"\b(?:cfpb|ombudsman|attorney general|better business bureau|bbb|ftc|regulators?|consumer protection)\b",
    r"\b(?:my |a )?(?:lawyer|attorney|solicitor)\b",
    r"\b(?:sue|suing|lawsuit|legal action|small claims|take you to court)\b",
    r"\breport(?:ing)? (?:you|this|your company)\b",
    r"\b(?:charged|billed|debited) (?:me )?twice\b",
    r"\b(?:wrong|incorrect|unauthori[sz]ed) (?:charge|fee|debit)\b",
)
NOT_COMPLAINT_EN: Final[tuple[str, ...]] = (
    r"\bno complaints?\b",
    r"\bnot (?:a )?complain",
    r"\bnothing to complain\b",
)
COMPLAINT_ZH: Final[tuple[str, ...]] = (
    "投诉", "举报", "银保监", "金融监管", "监管局", "监管部门", "12378", "12315", "消费者协会", "消协", "律师",
    "起诉", "告你们", "法院", "曝光", "媒体", "报警", "维权", "异议", "申诉", "争议", "扣错", "多扣", "重复扣款",
    "扣了两次", "乱收费", "征信有误",
)
NOT_COMPLAINT_ZH: Final[tuple[str, ...]] = ("没有投诉", "不投诉", "无异议", "没有异议")
