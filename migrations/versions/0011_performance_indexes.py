"""indexes found missing by the benchmarks (docs/PERFORMANCE.md)

- attendees.user_id: the scheduler's calendar finds the meetings a user attends;
- outbox_messages.attendee_id, outbox_messages.reminder_id: both foreign keys are
  ON DELETE SET NULL, so deleting an attendee or a reminder (every edit replaces unsent
  reminders) scanned the whole outbox without them.

Revision ID: 0011
Revises: 0007
Create Date: 2026-11-23 21:40:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('attendees', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attendees_user_id'), ['user_id'], unique=False)
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_messages_attendee_id'), ['attendee_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_messages_reminder_id'), ['reminder_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_messages_reminder_id'))
        batch_op.drop_index(batch_op.f('ix_outbox_messages_attendee_id'))
    with op.batch_alter_table('attendees', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attendees_user_id'))
