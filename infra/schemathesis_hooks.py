"""Schemathesis hooks for infra/fuzz.sh.

A real client makes a fresh Idempotency-Key for every new request; the fuzzer's generated keys
repeat across different requests (boundary values), which Roster rightly refuses (422). So a
well-formed key is replaced by a fresh UUID before each call; malformed ones are kept, for the
negative checks. Repeats with one key are tested in tests/e2e/idempotency.rs.
"""
import re
import uuid

import schemathesis

_KEY = re.compile(r"^[!-~]{1,255}$")


@schemathesis.hook
def before_call(context, case, kwargs):
    # A required custom field the fuzzer defines would make every later schema-valid creation of
    # a user or organization (which cannot know the field) a rightful 422. Its fields stay
    # optional here; tests/e2e/custom_fields.rs tests required ones.
    if case.path.startswith("/v1/custom-fields") and isinstance(case.body, dict) and case.body.get("required"):
        case.body["required"] = False
    for name, value in list((case.headers or {}).items()):
        if name.lower() == "idempotency-key" and isinstance(value, str) and _KEY.match(value):
            case.headers[name] = str(uuid.uuid4())
