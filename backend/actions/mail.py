"""Reports by e-mail: one message through the mail server the settings name (SMTP_*), sent with
smtplib in the MAIL thread pool. The answer is a delivery Attempt like a webhook's, its target
smtp://host:port: a connection error, a time-out or a 4xx reply (the server's "try later") is
worth retrying, a 5xx reply is not."""

from __future__ import annotations

import smtplib
import ssl
import time
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from backend import threads
from backend.actions.delivery import Attempt
from backend.config import Settings

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
        return f"smtp://{self._settings.smtp_host or ''}:{self._settings.smtp_port}"

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
        mail = message(self._settings.smtp_from, to, subject, text, attachments)
        recipients = [_line(address) for address in to]
        started = time.monotonic()
        try:
            reply = await threads.MAIL.run(self._deliver, mail, recipients)
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
            status_code=250,
            latency_ms=_since(started),
            head=reply[:_HEAD],
            error=None,
            refused=False,
            retryable=False,
            ok=True,
            retry_after=None,
            target=self.target,
        )

    def _refused(self, code: int, said: bytes | str, started: float) -> Attempt:
        text = _line(said.decode("utf-8", "replace") if isinstance(said, bytes) else str(said))
        retryable = 400 <= code < 500
        later = "it is sent again later" if retryable else "check the addresses and SMTP settings"
        error = f"The mail server {self.target} answered {code}: {text[:300]} ({later})."
        return Attempt(
            status_code=code,
            latency_ms=_since(started),
            head=text[:_HEAD],
            error=error,
            refused=False,
            retryable=retryable,
            ok=False,
            retry_after=None,
            target=self.target,
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
            status_code=250,
            latency_ms=_since(started),
            head=error[:_HEAD],
            error=error,
            refused=False,
            retryable=False,
            ok=False,
            retry_after=None,
            target=self.target,
        )

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
    return Attempt(
        status_code=None,
        latency_ms=None if started is None else _since(started),
        head="",
        error=error,
        refused=False,
        retryable=retryable,
        ok=False,
        retry_after=None,
        target=target,
    )
