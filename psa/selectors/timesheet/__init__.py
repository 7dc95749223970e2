"""The consultant's week grid (`/time/`): rows, cells, totals and capacity, in fixed queries.

Everything here reads one person's own time: the page always shows the signed-in user's Person,
so no other person's entry can reach it. The number of queries does not depend on the number
of rows (asserted in tests/psa/pages/test_timesheet.py):

1. the week's entries of the person;
2. the row tasks with their projects and clients (this week's, the last four weeks' and the
   running timer's);
3. the projects the person is on (the group headers);
4. approved time off (capacity, through `capacity_by_day`);
5. the running timer;
6. the closed months of the person's legal entity.

A cell's HTML is drawn by `cell_html` (for the page and for the autosave answer alike): with
280 cells on a 40-row week, template includes per cell were most of the page's time.
"""


from psa.selectors.timesheet.cells import (
    Cell,
    DayColumn,
    Group,
    Row,
    WeekGrid,
    WeekTotals,
    cell_html,
    cell_url,
    totals_html,
)
from psa.selectors.timesheet.parsing import (
    HoursParseError,
    day_label,
    format_hours,
    parse_hours,
    parse_week,
    week_start_of,
)
from psa.selectors.timesheet.summary import SummaryLine, WeekSummary, timesheet_summary
from psa.selectors.timesheet.week import (
    timesheet_cell,
    timesheet_row,
    timesheet_task_search,
    timesheet_totals,
    timesheet_week,
    usable_tasks,
)

__all__ = [
    "Cell", "DayColumn", "Group", "HoursParseError", "Row", "SummaryLine", "WeekGrid",
    "WeekSummary", "WeekTotals", "cell_html", "cell_url", "day_label", "format_hours",
    "parse_hours", "parse_week", "timesheet_cell", "timesheet_row", "timesheet_summary",
    "timesheet_task_search", "timesheet_totals", "timesheet_week", "totals_html",
    "usable_tasks", "week_start_of",
]
