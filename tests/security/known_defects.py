"""Defects in product code that the security tests found, with the fix proposed.

Each is asserted by a test that fails while the defect is there, with `explain(key)` as its
message; `test_no_known_defects_remain` (test_route_walk.py) lists them all. When one is fixed,
its test passes: delete its entry here.
"""

KNOWN_DEFECTS: dict[str, str] = {
}


def explain(key: str) -> str:
    return f"KNOWN DEFECT {key}: {KNOWN_DEFECTS[key]}"
