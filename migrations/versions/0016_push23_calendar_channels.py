"""calendar push (issue #23): Google notification channels per connection; calendar sync
rows looked up by connection and event id

Revision ID: 0016_push23_calendar_channels
Revises: 0016_source
Create Date: 2026-12-03 16:15:00.000000

"""
from alembic import op
import sqlalchemy as sa

import webapp.types


# revision identifiers, used by Alembic.
revision = '0016_push23_calendar_channels'
down_revision = '0016_source'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('calendar_channels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('calendar_id', sa.String(length=255), nullable=False),
    sa.Column('channel_id', sa.String(length=64), nullable=True),
    sa.Column('resource_id', sa.String(length=255), nullable=True),
    sa.Column('token', sa.String(length=64), nullable=True),
    sa.Column('expires_at', webapp.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', webapp.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', webapp.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', webapp.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_calendar_channels_account_id_accounts')),
    sa.ForeignKeyConstraint(['connection_id'], ['calendar_connections.id'], name=op.f('fk_calendar_channels_connection_id_calendar_connections'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_channels')),
    sa.UniqueConstraint('channel_id', name=op.f('uq_calendar_channels_channel_id')),
    sa.UniqueConstraint('connection_id', 'calendar_id', name=op.f('uq_calendar_channels_connection_id_calendar_id'))
    )
    with op.batch_alter_table('calendar_channels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_channels_account_id'), ['account_id'], unique=False)
    with op.batch_alter_table('calendar_syncs', schema=None) as batch_op:
        batch_op.create_index('ix_calendar_syncs_connection_external',
                              ['connection_id', 'external_id'], unique=False)


def downgrade():
    with op.batch_alter_table('calendar_syncs', schema=None) as batch_op:
        batch_op.drop_index('ix_calendar_syncs_connection_external')
    with op.batch_alter_table('calendar_channels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendar_channels_account_id'))
    op.drop_table('calendar_channels')
