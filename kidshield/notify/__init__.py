"""Notifications to people: ntfy topics, webhooks and e-mail (SMTP), one small vocabulary.

Shared by every feature that tells someone something (on-call alerts for reports, receipts and
decision notices to reporters, and later parents' notifications). Delivery is synchronous and
bounded in time; callers run it off the event loop. A failed channel never stops the others.
"""

from kidshield.notify.channels import (
    Channel,
    Delivery,
    EmailChannel,
    Message,
    NtfyChannel,
    SmtpSettings,
    WebhookChannel,
    deliver,
)

__all__ = ["Channel", "Delivery", "EmailChannel", "Message", "NtfyChannel", "SmtpSettings",
           "WebhookChannel", "deliver"]
