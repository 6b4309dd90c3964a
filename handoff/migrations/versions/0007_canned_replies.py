"""canned replies, bilingual, managed by supervisors, with a few defaults (issue 13)

Revision ID: 0007_canned_replies
Revises: 0006_outcomes
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0007_canned_replies"
down_revision = "0006_outcomes"
branch_labels = None
depends_on = None

# A snapshot of the defaults as of this revision (a migration never follows later code).
DEFAULTS = [
    ("greeting", "Greeting", "问候",
     ("Hello, this is {agent} from the loan service team. I have read your conversation with our assistant; "
      "how can I help?"),
     "您好，我是贷款服务团队的 {agent}。我已看过您与智能助手的对话，请问有什么可以帮您？"),
    ("checking", "Checking your account", "正在查询",
     "Thank you for waiting. I am checking your account now; this will take a minute or two.",
     "感谢您的耐心等待。我正在为您查询账户，大约需要一两分钟。"),
    ("verify", "Verify identity", "核实身份",
     ("To protect your account, please sign in on this page so that I can see your loan. "
      "Never send your full card number or password in the chat."),
     "为保护您的账户安全，请在本页面登录，以便我查看您的贷款。请勿在对话中发送完整卡号或密码。"),
    ("hardship", "Payment difficulty", "还款困难",
     ("I am sorry to hear that. We have options for borrowers who find it hard to pay, such as a due-date change "
      "or a payment plan. I can refer you to our hardship team."),
     "很抱歉听到这个情况。对于还款有困难的客户，我们有调整还款日或分期计划等方案，我可以为您转介困难援助团队。"),
    ("closing", "Anything else?", "还有其他问题吗",
     "Is there anything else I can help you with today?",
     "请问今天还有其他可以帮您的吗？"),
]


def upgrade() -> None:
    table = op.create_table(
        "canned_replies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("shortcut", sa.String(length=32), nullable=False),
        sa.Column("title_en", sa.String(length=80), nullable=False),
        sa.Column("title_zh", sa.String(length=80), nullable=False),
        sa.Column("text_en", sa.Text(), nullable=False),
        sa.Column("text_zh", sa.Text(), nullable=False),
        sa.Column("updated_by_agent_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["updated_by_agent_id"], ["agents.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("shortcut"),
    )
    now = datetime.now(UTC)
    op.bulk_insert(table, [
        {"shortcut": key, "title_en": title_en, "title_zh": title_zh, "text_en": text_en, "text_zh": text_zh,
         "updated_by_agent_id": None, "updated_at": now}
        for key, title_en, title_zh, text_en, text_zh in DEFAULTS
    ])


def downgrade() -> None:
    op.drop_table("canned_replies")
