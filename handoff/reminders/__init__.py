"""Proactive repayment reminders (issue 16): planned once per loan, due date and kind, sent into the
borrower's conversation and through the notifier (handoff/infra/notifier.py), and answerable in the chat."""
