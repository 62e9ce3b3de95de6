"""Reports, cases, decisions, evidence, escalation and transparency (issue 7).

``model`` is pure (no I/O, no clock); ``service`` drives a ``ReportStore`` with a ``Clock``;
``web`` and ``cli`` are thin front ends.
"""
