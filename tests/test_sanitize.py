"""URLs leave the process without their secrets, wherever in the URL a user put them."""

from __future__ import annotations

import pytest

from aas_quantum.sanitize import redact_url


@pytest.mark.parametrize("url, shown", [
    ("https://svc:8090/operations/optimize?apikey=K3y-v4lue", "https://svc:8090/operations/optimize?apikey=***"),
    ("http://h/api?tenant=line7&access_token=K3y-v4lue&x=1", "http://h/api?tenant=line7&access_token=***&x=1"),
    ("http://h/api?API_KEY=K3y-v4lue", "http://h/api?API_KEY=***"),
    ("http://h/hook?sig=K3y-v4lue#frag", "http://h/hook?sig=***#frag"),
    ("http://alice:Pa55@h/api?password=K3y-v4lue", "http://h/api?password=***"),
])
def test_secret_query_values_are_hidden(url, shown):
    assert redact_url(url) == shown


def test_a_query_without_secrets_is_kept_as_written():
    assert redact_url("http://h/api?limit=10&cursor=abc") == "http://h/api?limit=10&cursor=abc"
