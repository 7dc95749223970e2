"""The one error shape of API.md, checked on any answer of 400 or above."""

ERROR_TYPES = {"validation_error", "client_error", "server_error"}


def assert_error_shape(response) -> None:
    """`{"type": ..., "errors": [{"code", "detail", "attr"}]}` for every 4xx/5xx answer."""
    if response.status_code < 400:
        return
    body = response.json()
    where = f"{response.request.method} {response.request.url} -> {response.status_code}: {body}"
    assert isinstance(body, dict) and body.get("type") in ERROR_TYPES, where
    errors = body.get("errors")
    assert isinstance(errors, list) and errors, where
    for error in errors:
        assert isinstance(error.get("code"), str) and error["code"], where
        assert isinstance(error.get("detail"), str) and error["detail"], where
        assert error.get("attr") is None or isinstance(error["attr"], str), where
