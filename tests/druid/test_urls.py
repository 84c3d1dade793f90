"""Signed dataset URLs for Druid: served only with a valid, unexpired signature, never listed, and
never shown with their signature."""

from __future__ import annotations

import http.server
import threading
import time
import urllib.parse

import pytest

from backend import druid_load as druid_phase
from backend import redaction
from backend.druid import urls
from backend.druid.client import DruidError
from backend.druid.spec import HttpLocation
from tests.conftest import App

SECRET = b"k" * 32


def test_a_signature_is_bound_to_its_key_and_expiry() -> None:
    url = urls.sign("http://svc:8000", "druid/sales/t1.json.gz", SECRET, 60, now=1000.0)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    expires, signature = query["expires"][0], query["signature"][0]
    assert urls.verify("druid/sales/t1.json.gz", expires, signature, SECRET, now=1059.0)
    assert not urls.verify("druid/sales/t1.json.gz", expires, signature, SECRET, now=1061.0)
    assert not urls.verify("druid/sales/t2.json.gz", expires, signature, SECRET, now=1000.0)
    assert not urls.verify("druid/sales/t1.json.gz", "1070", signature, SECRET, now=1000.0)
    assert not urls.verify("druid/sales/t1.json.gz", expires, signature, b"other", now=1000.0)
    assert not urls.verify("druid/sales/t1.json.gz", expires, None, SECRET, now=1000.0)


def test_signatures_and_credentials_are_redacted_wherever_they_appear() -> None:
    ours = urls.sign("http://svc:8000", "druid/x.json.gz", SECRET, 60)
    presigned = (
        "http://s3:9000/b/k.json.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F2019"
        "&X-Amz-Date=20191001T000000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host"
        "&X-Amz-Signature=abcdef0123"
    )
    message = f'Druid failed: cannot read [{ours}] nor "{presigned}"'
    shown = redaction.redact(message)
    signature = urllib.parse.parse_qs(urllib.parse.urlsplit(ours).query)["signature"][0]
    assert signature not in shown and "abcdef0123" not in shown and "AKIA" not in shown
    assert shown.count("REDACTED") == 3 and "X-Amz-Expires=900" in shown
    assert DruidError(message).message == shown


async def test_the_service_serves_a_signed_file_and_nothing_else(app: App) -> None:
    key = "druid/sales/0123abcd.json.gz"
    writer = app.runtime.store.writer(key)
    await writer.write(b'{"a":1}\n')
    await writer.commit()
    signed = urls.sign("http://testserver", key, app.runtime.signing_key, 60)
    path = signed.removeprefix("http://testserver")

    ok = await app.client.get(path)
    assert (ok.status_code, ok.content) == (200, b'{"a":1}\n')

    expired = urls.sign(
        "http://testserver", key, app.runtime.signing_key, 60, now=time.time() - 120
    )
    tampered = path[:-4] + ("0000" if not path.endswith("0000") else "1111")
    refused = [
        expired.removeprefix("http://testserver"),
        tampered,
        path.split("?")[0],  # no signature at all
        path.replace("0123abcd", "0123abce"),  # the signature of another file
        urls.SIGNED_PREFIX + "druid/sales/",  # no listing
        urls.SIGNED_PREFIX + "raw/x/data.csv?expires=1&signature=x",  # uploads are not served
        urls.SIGNED_PREFIX + "druid/../raw/x?expires=1&signature=x",
    ]
    for attempt in refused:
        response = await app.client.get(attempt)
        assert response.status_code in (403, 404), (attempt, response.status_code)
        assert response.status_code == 403 or "file" not in response.text
        assert (
            "storage" not in response.text
            and str(app.runtime.store.description) not in response.text
        )


def test_log_records_never_carry_a_signature() -> None:
    import logging

    from backend.logging_setup import configure_logging

    configure_logging("INFO")
    url = urls.sign("http://svc:8000", "druid/x.json.gz", SECRET, 60)
    signature = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["signature"][0]
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    keep = Keep()
    logging.getLogger().addHandler(keep)
    try:
        logging.getLogger("backend.any").warning("Druid could not read %s", url)
    finally:
        logging.getLogger().removeHandler(keep)
    assert records and signature not in records[0].getMessage()
    assert "signature=REDACTED" in records[0].getMessage()


def test_access_log_lines_keep_their_arguments_and_lose_the_signature() -> None:
    import logging

    from backend.logging_setup import configure_logging

    configure_logging("INFO")
    path = urls.sign("", "druid/x.json.gz", SECRET, 60)
    record = logging.getLogRecordFactory()(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", path, "1.1", 200),
        None,
    )
    assert isinstance(record.args, tuple) and len(record.args) == 5  # uvicorn unpacks them
    assert "signature=REDACTED" in record.getMessage() and path not in record.getMessage()


@pytest.mark.parametrize(
    ("content_type", "refused"),
    [("text/html; charset=utf-8", True), ("application/gzip", False), ("text/csv", False)],
)
async def test_a_dataset_url_that_answers_a_web_page_is_refused_before_druid_reads_it(
    content_type: str, refused: bool
) -> None:
    # A DRUID_DATA_BASE_URL with a path outside /api reaches the web app's index.html (200).
    class Answer(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", "1")
            self.end_headers()
            self.wfile.write(b"<")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = urls.sign(f"http://127.0.0.1:{server.server_port}/app", "druid/s/t.json.gz", SECRET, 60)
    try:
        if refused:
            with pytest.raises(druid_phase.DruidFailed) as failed:
                await druid_phase.check_readable(HttpLocation((url,)), timeout=5)
            assert "web page" in failed.value.message
            assert "signature=REDACTED" in failed.value.message
        else:
            await druid_phase.check_readable(HttpLocation((url,)), timeout=5)
    finally:
        server.shutdown()
        server.server_close()
