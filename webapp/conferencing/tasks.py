"""A meeting's video conference, the retried part (job side: owns its transactions).

A ConferenceTask creates, moves or deletes a conference at the provider after the commit,
claimed through the task runner (webapp.tasks), so a job that runs twice does the work,
and sends the resulting update, once. Once a link exists, the meeting's own policy
(webapp.meetings.saving.conference_link_changed) raises SEQUENCE, queues the update
invitations and the calendar sync.
"""

from __future__ import annotations

from webapp import jobs, tasks
from webapp.conferencing.models import CONFERENCE_TASKS, ConferenceTask
from webapp.conferencing.operations import provider_for, set_ready
from webapp.conferencing.providers import ConferenceError
from webapp.extensions import db
from webapp.meetings.models import Meeting
from webapp.meetings.saving import conference_link_changed

JOB = "worker.jobs.conference_task"


def run_task(task_id: int) -> str:
    """Do one claimed task at the provider. Returns the task's status afterwards."""
    if not tasks.claim(CONFERENCE_TASKS, task_id):
        return "not-claimed"
    task = db.session.get(ConferenceTask, task_id)
    meeting = db.session.get(Meeting, task.meeting_id)
    if meeting is None:
        task.status = "done"
        db.session.commit()
        return task.status
    if task.action in ("create", "update") and (
            meeting.deleted_at is not None or meeting.conference_provider != task.provider):
        task.status = "superseded"
        db.session.commit()
        return task.status
    send_update = False
    try:
        provider = provider_for(meeting.account_id, task.provider)
        if task.action == "create":
            conference = provider.create(meeting, meeting.host)
            set_ready(meeting, conference)
            send_update = True
        elif task.action == "update":
            moved = provider.update(meeting, meeting.host, task.conference_id)
            if moved is not None and moved.url != meeting.conference_url:
                set_ready(meeting, moved)
                send_update = True
        else:
            provider.delete(meeting, meeting.host, task.conference_id)
    except ConferenceError as exc:
        status = tasks.schedule_retry(CONFERENCE_TASKS, task, str(exc)[:1000],
                                      retryable=exc.retryable, retry_after=exc.retry_after)
        if status == "failed" and task.action == "create":
            meeting.conference_status = "failed"
        if task.action == "create":
            meeting.conference_error = task.last_error
    else:
        task.status, task.last_error = "done", None
    db.session.flush()
    if send_update:
        conference_link_changed(meeting)
    db.session.commit()
    if send_update:
        jobs.request_relay()
    return task.status


def relay_tasks(limit: int = 200) -> int:
    """Enqueue due tasks (and ones whose worker died): the relay and the sweep. First in
    both: a link created now supersedes the invitation still waiting to go."""
    return tasks.enqueue_due(CONFERENCE_TASKS, JOB, limit)


tasks.register_relay(10, "conference tasks", relay_tasks)
def sweep_tasks(_interval: float) -> None:
    """The sweep's conference step. Returns nothing: relay_tasks()'s count is not a wait."""
    relay_tasks()


tasks.register_sweep(40, "conference tasks", sweep_tasks)
