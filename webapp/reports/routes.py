"""The meetings report page and its CSV export. Any user of the account may read them."""

from __future__ import annotations

from flask import Response, g, request, stream_with_context
from flask_babel import gettext as _
from flask_login import current_user, login_required

from webapp.meetings.timemath import to_zone
from webapp.records.models import RECORD_MODELS
from webapp.reports import bp, forms
from webapp.reports import operations as ops
from webapp.reports.chart import bar_chart
from webapp.types import utcnow
from webapp.views import page_or_partial


def _parse():
    choices = ops.choices(g.account_id)
    today = to_zone(utcnow(), current_user.zone).date()
    f, errors = forms.parse(request.args, g.account_id, current_user.zone, today, choices)
    return f, errors, choices


@bp.get("/reports")
@login_required
def index():
    f, errors, choices = _parse()
    report = None if errors else ops.counts(f, choices.outcomes)
    return page_or_partial("reports/index.html", "reports/_report.html", "report",
                           422 if errors else 200, f=f, errors=errors, choices=choices,
                           report=report, chart=bar_chart(report) if report else None,
                           dimensions=ops.DIMENSIONS, record_types=list(RECORD_MODELS))


@bp.get("/reports/meetings.csv")
@login_required
def meetings_csv():
    f, errors, choices = _parse()
    bucket = request.args.get("bucket")
    if bucket is not None and not errors:
        try:
            ops.bucket_condition(f, bucket)
        except ValueError:
            errors["bucket"] = _("This part of the report does not exist.")
    if errors:
        return Response("\n".join(f"{k}: {v}" for k, v in errors.items()) + "\n", 422,
                        mimetype="text/plain")
    name = f"meetings-{f.group_by}-{f.start_day}-{f.end_day}.csv"
    return Response(stream_with_context(ops.csv_lines(f, bucket, choices.outcomes)),
                    mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
