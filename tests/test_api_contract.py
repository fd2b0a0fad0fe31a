"""Contract: schemathesis generates requests from /api/v1/openapi.json and checks every
response against the document (status codes, content types, bodies) and for 5xx.

schemathesis' own pytest plugin does not run under pytest 9, so the operations are driven
here with hypothesis directly: one bounded property test per operation.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webapp.api import operations as token_ops

EXAMPLES_PER_OPERATION = 12
#: Ids of rows the fixture creates, so generated requests also reach real objects.
EXISTING = {"contact_id": 1, "company_id": 1, "deal_id": 1, "ticket_id": 1, "meeting_id": 1,
            "other_type": "deal", "other_id": 2}


def on_existing_rows(case):
    if case.path_parameters:
        case.path_parameters = {k: EXISTING.get(k, v) for k, v in case.path_parameters.items()}
    return case


@pytest.fixture()
def api_schema(app, make, db):
    account = make.account()
    user = make.user(account, seat_kind_id=make.seat(account, paid=True).id)
    for _ in range(2):
        contact = make.contact(account)
        make.deal(account)
        make.company(account)
        make.ticket(account)
    # Rows with small ids, which the generated requests hit often (1 is a boundary value).
    from datetime import timedelta

    from webapp.meetings import inputs, saving, validation
    from webapp.types import utcnow
    start = utcnow() + timedelta(days=5)
    for i in range(3):
        data = inputs.MeetingInput(title=f"M{i}", start=start, end=start + timedelta(hours=1),
                                timezone="UTC", attendees=[("contact", contact.id)],
                                associations=[("contact", contact.id)])
        assert not validation.validate(account, user, data)
        saving.schedule_meeting(account, user, data)
    _row, token = token_ops.create_token(user, "contract")
    db.session.commit()
    app.config["API_RATE_LIMIT"] = 100_000
    yield schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app), token
    app.config["API_RATE_LIMIT"] = 300


def test_api_conforms_to_its_document(api_schema):
    schema, token = api_schema
    headers = {"Authorization": f"Bearer {token}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 35
    failures = []
    for operation in operations:

        generated = operation.as_strategy()
        strategy = st.one_of(generated, generated.map(on_existing_rows))

        @given(case=strategy)
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True,
                  database=None, suppress_health_check=list(HealthCheck))
        def check(case):
            # Schema-valid but semantically wrong data (an unknown contact id, a phone
            # number that does not exist) is rightly refused with 422: that one check is
            # off; every other check, negative-data rejection included, runs.
            case.call_and_validate(
                headers=headers, excluded_checks=[schemathesis.checks.positive_data_acceptance])

        try:
            check()
        except Exception as exc:  # collect every operation's failure, then report all
            failures.append(f"{operation.label}: {exc}"[:1500])
    assert not failures, "\n\n".join(failures)


def test_every_reference_of_the_document_resolves(client):
    """A `$ref` to a schema the document does not hold is a broken contract for every
    client generated from it (the Meeting schema was referenced and never registered)."""
    import json
    import re

    document = client.get("/api/v1/openapi.json").get_json()
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(document)))
    assert refs, "the document refers to no schema"
    assert refs - set(document["components"]["schemas"]) == set()
