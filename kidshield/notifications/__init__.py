"""Telling parents what needs them, without hand work: a child's access request, and a weekly
summary per child. Channels are set up in the dashboard (Settings -> Notifications) and kept
in the database: an ntfy topic (push to the ntfy app on a phone), e-mail over SMTP, and a
webhook for scripts. ``settings`` holds what is configured, ``channels`` delivers, ``weekly``
makes the summaries."""
