"""two-way calendar sync (issue #23): per-event versions (etag, deleted in the calendar),
per-connection inbound state and sync health, the meeting's calendar change history,
notifications without a meeting

Revision ID: 0015_23
Revises: 0014
Create Date: 2026-12-03 13:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

import webapp.types


# revision identifiers, used by Alembic.
revision = '0015_23'
down_revision = '0015_20a'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('calendar_syncs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('etag', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('remote_deleted_at', webapp.types.UTCDateTime(timezone=True),
                                      nullable=True))
    op.create_table('calendar_sync_states',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('sync_token', sa.Text(), nullable=True),
    sa.Column('ctag', sa.String(length=255), nullable=True),
    sa.Column('on_remote_delete', sa.String(length=8), nullable=False),
    sa.Column('last_success_at', webapp.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error_at', webapp.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('changes_in', sa.Integer(), nullable=False),
    sa.Column('conflicts', sa.Integer(), nullable=False),
    sa.Column('notified_at', webapp.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', webapp.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', webapp.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_calendar_sync_states_account_id_accounts')),
    sa.ForeignKeyConstraint(['connection_id'], ['calendar_connections.id'], name=op.f('fk_calendar_sync_states_connection_id_calendar_connections'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_sync_states')),
    sa.UniqueConstraint('connection_id', name=op.f('uq_calendar_sync_states_connection_id'))
    )
    with op.batch_alter_table('calendar_sync_states', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_sync_states_account_id'), ['account_id'], unique=False)
    op.create_table('meeting_calendar_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('at', webapp.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_meeting_calendar_changes_account_id_accounts')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_meeting_calendar_changes_meeting_id_meetings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_calendar_changes'))
    )
    with op.batch_alter_table('meeting_calendar_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_calendar_changes_meeting_id'), ['meeting_id'], unique=False)
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.alter_column('meeting_id', existing_type=sa.Integer(), nullable=True)


def downgrade():
    op.execute("DELETE FROM notifications WHERE meeting_id IS NULL")
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.alter_column('meeting_id', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('meeting_calendar_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_calendar_changes_meeting_id'))
    op.drop_table('meeting_calendar_changes')
    with op.batch_alter_table('calendar_sync_states', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendar_sync_states_account_id'))
    op.drop_table('calendar_sync_states')
    with op.batch_alter_table('calendar_syncs', schema=None) as batch_op:
        batch_op.drop_column('remote_deleted_at')
        batch_op.drop_column('etag')
