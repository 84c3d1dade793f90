"""Reports by e-mail: one message through the mail server the settings name (SMTP_*), composed
and sent with smtplib in the MAIL thread pool. The answer is a delivery Attempt like a webhook's,
its target smtp://host:port: a connection error, a time-out or a 4xx reply (the server's "try
later") is worth retrying, a 5xx reply is not.

The service's mail server is not a relay for whoever may create a report: recipients must be at
one of ACTIONS_MAIL_DOMAINS when it is set (checked when the action is saved and at each run),
and one person's actions send at most ACTIONS_MAILS_PER_HOUR messages an hour (counted from the
deliveries recorded); past it, a report waits for the next free slot."""

from __future__ import annotations

import datetime as dt
import smtplib
import ssl
import time
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from sqlalchemy import func, select

from backend import threads
from backend.actions.delivery import Attempt
from backend.actions.models import Action, ActionDelivery, ActionRun
from backend.config import Settings
from backend.config_actions import ActionSettings
from backend.db import SessionMaker, session_scope
from backend.errors import Forbidden

NO_HOST = "Reports cannot be e-mailed: SMTP_HOST is not set."
_HEAD = 1024


def _line(text: str) -> str:
    """One header line: the schemas checked subjects and addresses; a line break never passes."""
    return " ".join(text.replace("\r", " ").replace("\n", " ").split())


def message(
    sender: str,
    to: Sequence[str],
    subject: str,
    text: str,
    attachments: Sequence[tuple[str, bytes]],
) -> EmailMessage:
    """The message: a text body, and each attachment as text/csv under its name."""
    mail = EmailMessage()
    mail["From"] = _line(sender)
    mail["To"] = ", ".join(_line(address) for address in to)
    mail["Subject"] = _line(subject)
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain=_line(sender).rpartition("@")[2] or None)
    mail.set_content(text)
    for name, data in attachments:
        mail.add_attachment(data, maintype="text", subtype="csv", filename=_line(name))
    return mail


class Mailer:
    """Sends through SMTP_HOST:SMTP_PORT with SMTP_SECURITY (starttls, ssl or none), signing in
    when SMTP_USERNAME is set."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    @property
    def target(self) -> str:
        return target_of(self._settings)

    async def send(
        self,
        to: Sequence[str],
        subject: str,
        text: str,
        attachments: Sequence[tuple[str, bytes]],
    ) -> Attempt:
        if not self._settings.smtp_host:
            return _attempt(self.target, error=NO_HOST, retryable=False)
        if not to:
            return _attempt(
                self.target, error="The report has no e-mail address to go to.", retryable=False
            )
        started = time.monotonic()
        try:  # composed in the thread too: encoding 20 MiB of attachments takes a while
            reply = await threads.MAIL.run(self._compose, to, subject, text, attachments)
        except smtplib.SMTPResponseException as exc:
            return self._refused(exc.smtp_code, exc.smtp_error, started)
        except smtplib.SMTPNotSupportedError:
            error = (
                f"The mail server {self.target} does not offer STARTTLS: set SMTP_SECURITY to "
                "ssl (port 465) or, on a trusted network only, none."
            )
            return _attempt(self.target, error=error, retryable=False, started=started)
        except smtplib.SMTPRecipientsRefused as exc:
            code, said = next(iter(exc.recipients.values()))
            return self._refused(code, said, started)
        except _SomeRefused as exc:
            return self._some_refused(exc, started)
        except ssl.SSLError as exc:
            error = (
                f"The mail server {self.target} failed the TLS handshake ({_line(str(exc))[:200]}): "
                "check SMTP_SECURITY and the server's certificate."
            )
            return _attempt(self.target, error=error, retryable=False, started=started)
        except (OSError, smtplib.SMTPException) as exc:
            error = (
                f"The mail server {self.target} could not be reached ({type(exc).__name__}: "
                f"{_line(str(exc))[:200]}); the report is sent again later."
            )
            return _attempt(self.target, error=error, retryable=True, started=started)
        return Attempt(
            self.target, ok=True, status_code=250, latency_ms=_since(started), head=reply[:_HEAD]
        )

    def _refused(self, code: int, said: bytes | str, started: float) -> Attempt:
        text = _line(said.decode("utf-8", "replace") if isinstance(said, bytes) else str(said))
        retryable = 400 <= code < 500
        later = "it is sent again later" if retryable else "check the addresses and SMTP settings"
        error = f"The mail server {self.target} answered {code}: {text[:300]} ({later})."
        return Attempt(
            self.target,
            status_code=code,
            latency_ms=_since(started),
            head=text[:_HEAD],
            error=error,
            retryable=retryable,
        )

    def _some_refused(self, exc: _SomeRefused, started: float) -> Attempt:
        said = "; ".join(
            f"{address} ({code} {_line(reply.decode('utf-8', 'replace'))[:100]})"
            for address, (code, reply) in list(exc.refused.items())[:5]
        )
        error = (
            f"The mail server {self.target} took the message for {exc.accepted} address(es) but "
            f"refused {said}: correct those addresses (the others are not sent it again)."
        )
        return Attempt(
            self.target,
            status_code=250,
            latency_ms=_since(started),
            head=error[:_HEAD],
            error=error,
        )

    def _compose(
        self,
        to: Sequence[str],
        subject: str,
        text: str,
        attachments: Sequence[tuple[str, bytes]],
    ) -> str:
        """Runs in a MAIL thread: the message built, then sent."""
        mail = message(self._settings.smtp_from, to, subject, text, attachments)
        return self._deliver(mail, [_line(address) for address in to])

    def _deliver(self, mail: EmailMessage, recipients: list[str]) -> str:
        """Runs in a MAIL thread: one conversation with the server."""
        settings = self._settings
        host, port, timeout = (
            settings.smtp_host or "",
            settings.smtp_port,
            settings.smtp_timeout_seconds,
        )
        client: smtplib.SMTP
        if settings.smtp_security == "ssl":
            context = ssl.create_default_context()
            client = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(host, port, timeout=timeout)
        with client:
            if settings.smtp_security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if settings.smtp_username:
                password = (
                    settings.smtp_password.get_secret_value() if settings.smtp_password else ""
                )
                client.login(settings.smtp_username, password)
            refused = client.send_message(mail, to_addrs=recipients)
            if refused:  # the others have it: never sent again (they would get it twice)
                raise _SomeRefused(refused, len(recipients) - len(refused))
        return f"The mail server accepted the message for {len(recipients)} recipient(s)."


class _SomeRefused(Exception):
    """The server took the message for some recipients and refused the others."""

    def __init__(self, refused: dict[str, tuple[int, bytes]], accepted: int) -> None:
        super().__init__(f"{len(refused)} recipient(s) refused")
        self.refused = refused
        self.accepted = accepted


def _since(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


def _attempt(target: str, *, error: str, retryable: bool, started: float | None = None) -> Attempt:
    latency = None if started is None else _since(started)
    return Attempt(target, latency_ms=latency, error=error, retryable=retryable)


def target_of(settings: ActionSettings) -> str:
    return f"smtp://{settings.smtp_host or ''}:{settings.smtp_port}"


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].strip().rstrip(".").casefold()


def outside_domains(to: Sequence[str], domains: Sequence[str]) -> list[str]:
    """The addresses whose domain is none of `domains` (none when `domains` is empty)."""
    if not domains:
        return []
    allowed = {domain.casefold() for domain in domains}
    return [address for address in to if domain_of(address) not in allowed]


def domains_refusal(outside: Sequence[str], domains: Sequence[str]) -> tuple[str, str]:
    """The sentence and hint refusing addresses outside ACTIONS_MAIL_DOMAINS."""
    named = ", ".join(_line(address)[:80] for address in outside[:3])
    more = f" and {len(outside) - 3} more" if len(outside) > 3 else ""
    return (
        f"Reports may be e-mailed only to addresses at {', '.join(domains)} "
        f"(ACTIONS_MAIL_DOMAINS); {named}{more} {'is' if len(outside) == 1 else 'are'} not.",
        "Send the report to addresses at those domains, or ask an operator to add the domain "
        "to ACTIONS_MAIL_DOMAINS.",
    )


def check_recipients(kind: str, params: dict[str, Any], settings: ActionSettings) -> None:
    """When an action is saved: a report's addresses are all at ACTIONS_MAIL_DOMAINS (when
    set); Forbidden with a sentence otherwise."""
    to = params.get("to") if kind == "report" else None
    if not isinstance(to, list):
        return
    outside = outside_domains([str(address) for address in to], settings.actions_mail_domains)
    if outside:
        raise Forbidden(*domains_refusal(outside, settings.actions_mail_domains))


HOUR = dt.timedelta(hours=1)


async def sent_last_hour(
    sessions: SessionMaker, owner_user: str | None, owner_id: str, now: dt.datetime
) -> tuple[int, dt.datetime | None]:
    """The e-mails the owner's actions sent (tried) in the hour before `now`, and the oldest's
    time; deliveries the service held back itself (refused) do not count."""
    owned = (
        Action.owner_user == owner_user
        if owner_user is not None
        else (Action.owner_user.is_(None) & (Action.owner_id == owner_id))
    )
    query = (
        select(func.count(), func.min(ActionDelivery.at))
        .select_from(ActionDelivery)
        .join(ActionRun, ActionRun.id == ActionDelivery.run_id)
        .join(Action, Action.id == ActionRun.action_id)
        .where(
            owned,
            ActionDelivery.channel == "smtp",
            ActionDelivery.refused.is_(False),
            ActionDelivery.at > now - HOUR,
        )
    )
    async with session_scope(sessions) as session:
        count, oldest = (await session.execute(query)).one()
    return int(count or 0), oldest


async def held_back(
    sessions: SessionMaker,
    settings: ActionSettings,
    owner_user: str | None,
    owner_id: str,
    now: dt.datetime,
) -> Attempt | None:
    """A retryable attempt, sent to no one, when the owner's actions have sent
    ACTIONS_MAILS_PER_HOUR e-mails in the last hour; None when this one may go."""
    limit = settings.actions_mails_per_hour
    count, oldest = await sent_last_hour(sessions, owner_user, owner_id, now)
    if count < limit:
        return None
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=dt.UTC)
    free = (oldest + HOUR - now).total_seconds() if oldest is not None else 60.0
    wait = max(1.0, free + 1.0)
    error = (
        f"The report was not e-mailed: your actions sent {count} e-mails in the last hour, "
        f"as many as ACTIONS_MAILS_PER_HOUR ({limit}) allows; it is sent again in about "
        f"{max(1, round(wait / 60))} minute(s)."
    )
    return Attempt(target_of(settings), error=error, refused=True, retryable=True, retry_after=wait)
