"""The virtual users of `bench/load.py`: one thread and one httpx client (its own cookies) each.

Each user signs in as a person would (the login page's CSRF token, then the form post) or
carries a bearer token, then repeats one step: the request a browser or an API client sends
on that path. A step's answer is checked (status, and what the page or JSON must contain);
anything else, a timeout or a dropped connection counts as an error. Nothing here touches
Django: users only speak HTTP to the gunicorn under test.
"""

import html
import re
import statistics
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import cycle

import httpx

TIMEOUT_S = 60.0
CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
HOURS = ("1.5", "2", "2.25", "1.75")  # ten rows of at most 2.25 h stay under 24 h a day
ALERT = re.compile(rb'(?:role="alert"|class="[^"]*(?:field-error|ts-error)[^"]*")[^>]*>\s*'
                   rb'(?:<p[^>]*>)?([^<]{1,300})')
TITLE = re.compile(rb"<title>([^<]{1,120})</title>")


def explain(answer: httpx.Response) -> str:
    """Status and what a person would read: the page's alert or error text, else the start."""
    found = ALERT.search(answer.content) or TITLE.search(answer.content)
    text = (html.unescape(found.group(1).decode(errors="replace")).strip() if found
            else answer.text[:200])
    return f"{answer.status_code} {text!r}"


class OutOfWork(Exception):
    """The user has done every piece of work planned for it."""


@dataclass
class Sample:
    """One measured request: when it ended (perf_counter s), how long it took, its outcome."""

    ended: float
    ms: float
    error: str | None


class User:
    """A virtual user on one path; subclasses define `sign_in` and `step`."""

    path = ""

    def __init__(self, base_url: str) -> None:
        self.client = httpx.Client(base_url=base_url, timeout=TIMEOUT_S, follow_redirects=False)
        self.done = 0  # steps answered right, warm-up included (the checks count the writes)

    def sign_in(self) -> None:
        """Nothing to do for an anonymous user."""

    def step(self) -> str | None:
        """Send one request; the error sentence, or None when the answer is right."""
        raise NotImplementedError

    def close(self) -> None:
        self.client.close()

    def _session_sign_in(self, username: str, password: str) -> None:
        page = self.client.get("/accounts/login/")
        match = CSRF_INPUT.search(page.content)
        if page.status_code != 200 or match is None:
            raise RuntimeError(f"login page for {username}: {page.status_code}")
        answer = self.client.post("/accounts/login/", data={
            "username": username, "password": password, "next": "",
            "csrfmiddlewaretoken": match.group(1).decode()})
        if answer.status_code != 302 or "sessionid" not in self.client.cookies:
            raise RuntimeError(f"sign-in of {username} refused: {answer.status_code}")

    def _csrf(self) -> str:
        return self.client.cookies["csrftoken"]

    def _forget_messages(self) -> None:
        """The browser follows the redirect, whose page shows (and so drops) the flash message;
        without that, messages would pile up in the cookie and then in the session."""
        self.client.cookies.delete("messages")


class HealthUser(User):
    """The floor: `GET /health/?probe=live`, which touches nothing behind the web process."""

    path = "health"

    def step(self) -> str | None:
        answer = self.client.get("/health/?probe=live")
        if answer.status_code != 200 or b'"ok"' not in answer.content:
            return explain(answer)
        return None


class CellSaveUser(User):
    """A consultant's autosave: the HTMX POST of one cell's `hours` and `notes` inputs."""

    path = "save"

    def __init__(self, base_url: str, *, username: str, password: str, week: str,
                 cells: list[tuple[int, str]]) -> None:
        super().__init__(base_url)
        self.username, self.password, self.week = username, password, week
        self.cells = cycle(cells)
        self.hours = cycle(HOURS)
        self.saved: set[tuple[int, str]] = set()

    def sign_in(self) -> None:
        self._session_sign_in(self.username, self.password)
        page = self.client.get(f"/time/?week={self.week}")  # what the user opens first
        if page.status_code != 200 or b'id="timesheet"' not in page.content:
            raise RuntimeError(f"week page for {self.username}: {page.status_code}")

    def step(self) -> str | None:
        task_id, day = next(self.cells)
        answer = self.client.post(
            f"/time/cell/{task_id}/{day}/", data={"hours": next(self.hours), "notes": ""},
            headers={"HX-Request": "true", "X-CSRFToken": self._csrf(),
                     "HX-Current-URL": f"{self.client.base_url}time/?week={self.week}"})
        body = answer.content
        if answer.status_code != 200 or b'id="cell-' not in body or b"has-error" in body:
            return explain(answer)
        self.saved.add((task_id, day))
        return None


class SubmitUser(User):
    """A consultant submitting a week: the Submit week page's form post, one week each time."""

    path = "submit"

    def __init__(self, base_url: str, *, username: str, password: str,
                 weeks: list[str]) -> None:
        super().__init__(base_url)
        self.username, self.password = username, password
        self.weeks: Iterator[str] = iter(weeks)

    def sign_in(self) -> None:
        self._session_sign_in(self.username, self.password)

    def step(self) -> str | None:
        week = next(self.weeks, None)
        if week is None:
            raise OutOfWork
        answer = self.client.post("/time/submit/", data={
            "week": week, "csrfmiddlewaretoken": self._csrf()})
        self._forget_messages()
        if answer.status_code != 302 or not answer.headers.get("location", "").endswith(
                f"?week={week}"):
            return explain(answer)
        self.done += 1
        return None


class ApproveUser(User):
    """A manager approving one person's week: the Approvals page's form post."""

    path = "approve"

    def __init__(self, base_url: str, *, username: str, password: str,
                 groups: list[str]) -> None:
        super().__init__(base_url)
        self.username, self.password = username, password
        self.groups: Iterator[str] = iter(groups)

    def sign_in(self) -> None:
        self._session_sign_in(self.username, self.password)

    def step(self) -> str | None:
        group = next(self.groups, None)
        if group is None:
            raise OutOfWork
        answer = self.client.post("/approvals/", data={
            "action": "approve", "groups": group, "reason": "",
            "csrfmiddlewaretoken": self._csrf()})
        self._forget_messages()
        if answer.status_code != 302 or answer.headers.get("location") != "/approvals/":
            return explain(answer)
        self.done += 1
        return None


class ApiPagingUser(User):
    """An integration paging `/api/v1/time-entries/?page_size=100` by its `next` cursors,
    starting again after the last page; ids must rise strictly across a pass."""

    path = "api"
    FIRST = "/api/v1/time-entries/?page_size=100"

    def __init__(self, base_url: str, *, token: str) -> None:
        super().__init__(base_url)
        self.client.headers["Authorization"] = f"Bearer {token}"
        self.next_url: str | None = None
        self.last_id = 0
        self.seen = 0
        self.passes: list[int] = []  # rows seen in each completed pass

    def step(self) -> str | None:
        answer = self.client.get(self.next_url or self.FIRST)
        if answer.status_code != 200:
            self.next_url = None
            return explain(answer)
        page = answer.json()
        ids = [row["id"] for row in page["results"]]
        if len(ids) > 100 or ids != sorted(set(ids)) or (ids and ids[0] <= self.last_id):
            self.next_url = None
            return f"page out of order or too long: {ids[:3]}…"
        self.seen += len(ids)
        self.last_id = ids[-1] if ids else self.last_id
        self.next_url = page["next"]
        if self.next_url is None:
            self.passes.append(self.seen)
            self.seen, self.last_id = 0, 0
        return None


@dataclass
class PathResult:
    """One path's measured requests in one phase."""

    path: str
    users: int
    samples: list[Sample] = field(default_factory=list)
    window_s: float = 0.0
    ran_out: int = 0  # users that finished their planned work before the end
    warmup_errors: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        return [s.error for s in self.samples if s.error is not None]

    @property
    def requests(self) -> int:
        """Measured requests plus unmeasured warm-up ones that failed (they count as errors)."""
        return len(self.samples) + len(self.warmup_errors)

    @property
    def rps(self) -> float:
        good = len(self.samples) - len(self.errors)
        return good / self.window_s if self.window_s else 0.0

    def percentile(self, q: int) -> float:
        values = [s.ms for s in self.samples]
        if len(values) < 2:
            return values[0] if values else float("nan")
        return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def sign_in_all(users: list[User]) -> None:
    """Sign every user in, concurrently (PBKDF2 makes a sign-in cost about half a second)."""
    failures: list[BaseException] = []

    def run(user: User) -> None:
        try:
            user.sign_in()
        except BaseException as exc:  # reported below, in the main thread
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(u,), daemon=True) for u in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"{len(failures)} sign-ins failed, first: {failures[0]}")


def run_phase(users: list[User], *, duration_s: float, warmup_steps: int) -> list[PathResult]:
    """Every user steps until `duration_s` after a common start; per path results.

    Each user first takes `warmup_steps` unmeasured steps (worker processes warm their
    caches and connections), then all start the measured window together.
    """
    results = {u.path: PathResult(u.path, 0) for u in users}
    for user in users:
        results[user.path].users += 1
    start = [0.0]
    barrier = threading.Barrier(len(users) + 1,
                                action=lambda: start.__setitem__(0, time.perf_counter()))

    def run(user: User) -> None:
        result = results[user.path]
        for _ in range(warmup_steps):
            try:
                error = user.step()
            except OutOfWork:
                break
            except Exception as exc:  # not measured, but still an error
                error = f"{type(exc).__name__}: {exc}"
            if error is not None:
                result.warmup_errors.append(error)
        barrier.wait()
        deadline = start[0] + duration_s
        try:
            while time.perf_counter() < deadline:
                began = time.perf_counter()
                try:
                    error = user.step()
                except OutOfWork:
                    raise
                except Exception as exc:  # timeouts, resets, bad JSON: errors
                    error = f"{type(exc).__name__}: {exc}"
                finish = time.perf_counter()
                result.samples.append(Sample(finish, (finish - began) * 1000, error))
        except OutOfWork:
            result.ran_out += 1

    threads = [threading.Thread(target=run, args=(u,), daemon=True) for u in users]
    for thread in threads:
        thread.start()
    barrier.wait()
    for thread in threads:
        thread.join()
    for result in results.values():
        last = max((sample.ended for sample in result.samples), default=start[0])
        result.window_s = max(last - start[0], 1e-9)
    return list(results.values())
