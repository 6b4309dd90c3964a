"""Recognising personal numbers in free text (cards, IDs, phones, bank numbers, VINs, loan numbers, e-mail).

`handoff.masking` decides what to do with what these modules find. Every detector reads the text after
`normalize.normalize` (NFKC, so full-width digits and `＠` are plain ASCII) and reports spans in the
coordinates of that normalised text; `Normalized.raw_span` maps them back to what the borrower typed.
"""
