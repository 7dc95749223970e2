"""Exports of list pages and reports: CSV streamed row by row (never the whole table in
memory), and XLSX workbooks for the reports."""

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal

from django.http import HttpResponse, StreamingHttpResponse

# A cell starting with one of these is a formula to a spreadsheet (CSV injection, OWASP).
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    """A file-like object whose write() returns the line, for csv.writer in a generator."""

    def write(self, value: str) -> str:
        return value


def csv_cell(value: object) -> str:
    """One cell as text: Decimals keep their stored places, None is empty, formulas defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return str(value)  # numbers may start with "-" and stay numbers
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    if text.startswith(_FORMULA_PREFIXES):
        return "'" + text
    return text


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """Yield the header line, then one encoded line per row as the rows arrive."""
    writer = csv.writer(_Echo())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([csv_cell(value) for value in row])


def csv_response(*, filename: str, header: Sequence[str],
                 rows: Iterable[Sequence[object]]) -> StreamingHttpResponse:
    """A streamed CSV download; pass `queryset.values_list(...).iterator(chunk_size=2000)`."""
    response = StreamingHttpResponse(csv_lines(header, rows),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def xlsx_response(*, filename: str, sheet: str, header: Sequence[str],
                  rows: Iterable[Sequence[object]]) -> HttpResponse:
    """A one-sheet workbook download (text cells defused as in CSV; numbers stay numbers)."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(sheet)
    worksheet.append(list(header))
    for row in rows:
        worksheet.append([csv_cell(v) if isinstance(v, str) else v for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(
        buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def table_export(*, kind: str | None, name: str, sheet: str, header: Sequence[str],
                 rows: Iterable[Sequence[object]]) -> HttpResponse | None:
    """The table as `name.csv` or `name.xlsx` when `kind` (a page's `?format=`) asks for one,
    else None (the page renders itself)."""
    if kind == "csv":
        return csv_response(filename=f"{name}.csv", header=header, rows=rows)
    if kind == "xlsx":
        return xlsx_response(filename=f"{name}.xlsx", sheet=sheet, header=header,
                             rows=list(rows))
    return None
