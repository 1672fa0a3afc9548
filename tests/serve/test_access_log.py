"""The access log never holds a credential sent in a URL's query string."""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request

import pytest

from tuneforge.serve.access_log import RedactCredentials, log_config, redact_query


@pytest.mark.parametrize(
    "target,expected",
    [
        ("/v1/model", "/v1/model"),
        ("/v1/model?token=s3cr3t", "/v1/model?token=REDACTED"),
        ("/x?a=1&access_token=s3cr3t&b=2", "/x?a=1&access_token=REDACTED&b=2"),
        ("/x?api_key=s3cr3t&API-KEY=s3cr3t", "/x?api_key=REDACTED&API-KEY=REDACTED"),
        ("/x?access%5Ftoken=s3cr3t", "/x?access%5Ftoken=REDACTED"),
        ("/x?client_secret=s3cr3t&password=s3cr3t", "/x?client_secret=REDACTED&password=REDACTED"),
        ("/x?X-Amz-Signature=s3cr3t&X-Amz-Credential=s3cr3t&sig=s3cr3t", None),
        ("/x?top_k=3&page=2&token", "/x?top_k=3&page=2&token"),
    ],
)
def test_credential_query_parameters_are_redacted(target, expected):
    """Values of token-, key-, secret-, password- and signature-like parameters are replaced,
    however they are spelt or encoded; other parameters stay as they were."""
    out = redact_query(target)
    if expected is not None:
        assert out == expected
    assert "s3cr3t" not in out


def test_the_access_log_filter_rewrites_uvicorns_record():
    """The filter rewrites the path argument of uvicorn's access record, and uvicorn's
    logging configuration with it installs the filter on the access logger."""
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/v1/model?token=s3cr3t", "1.1", 401),
        None,
    )
    assert RedactCredentials().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /v1/model?token=REDACTED HTTP/1.1" 401'
    assert log_config()["loggers"]["uvicorn.access"]["filters"] == ["redact_credentials"]


def test_a_token_in_the_url_is_refused_and_kept_out_of_the_log(strict_server):
    """A server with a token refuses it in the query string (401: only the Authorization
    header counts), and the access line of that request names the path without the token."""
    secret = "querytoken-0123456789abcdef"
    url = f"http://127.0.0.1:{strict_server.port}/v1/model?access_token={secret}&token={secret}"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url, timeout=30)
    assert refused.value.code == 401
    deadline = time.monotonic() + 10
    while "/v1/model?" not in strict_server.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    log = strict_server.log.read_text()
    assert "GET /v1/model?access_token=REDACTED&token=REDACTED HTTP/1.1" in log, log
    assert secret not in log
