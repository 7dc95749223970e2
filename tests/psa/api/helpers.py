"""Helpers for API tests: read the error shape."""


def error_attrs(response) -> set[str | None]:
    """The `attr` of every error, after asserting the body has API.md's error shape."""
    body = response.json()
    assert body["type"] in {"validation_error", "client_error", "server_error"}, body
    assert body["errors"], body
    for error in body["errors"]:
        assert set(error) == {"code", "detail", "attr"}, error
    return {error["attr"] for error in body["errors"]}


def error_codes(response) -> set[str]:
    error_attrs(response)
    return {error["code"] for error in response.json()["errors"]}
