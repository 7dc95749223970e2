"""The `<id:...>` URL converter: a row id as a URL segment.

Django's `<int:...>` takes any number of digits, and a number past BIGINT reaches the database
as an overflow (a 500). At most 18 digits holds every id a row can have; a longer number
matches no route, so it is the 404 any unknown row gets.
"""


class RecordIdConverter:
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)
