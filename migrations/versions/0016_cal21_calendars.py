"""every calendar counts (#21): several calendar connections per user, one of them
receiving new meetings; each connection's calendars, which count for busy time and
which one receives the meetings

Revision ID: 0016_cal21_calendars
Revises: 0016_push23_calendar_channels
Create Date: 2026-12-03 16:20:00.000000

"""
from alembic import op
import sqlalchemy as sa

import webapp.types


# revision identifiers, used by Alembic.
revision = '0016_cal21_calendars'
down_revision = '0016_push23_calendar_channels'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('calendar_connections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('receives_events', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.drop_constraint('uq_calendar_connections_user_id', type_='unique')
        batch_op.create_index(batch_op.f('ix_calendar_connections_user_id'), ['user_id'],
                              unique=False)
    # Every user had one connection: it is the one that receives their meetings.
    op.execute(sa.text("UPDATE calendar_connections SET receives_events = true"))
    with op.batch_alter_table('calendar_connections', schema=None) as batch_op:
        batch_op.create_index('uq_calendar_connections_receiving', ['user_id'], unique=True,
                              postgresql_where=sa.text('receives_events'),
                              sqlite_where=sa.text('receives_events'))
    with op.batch_alter_table('calendar_syncs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('calendar_ref', sa.String(length=1024), nullable=True))
    op.create_table('connection_calendars',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('external_id', sa.String(length=1024), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('primary', sa.Boolean(), nullable=False),
    sa.Column('read_only', sa.Boolean(), nullable=False),
    sa.Column('counts_for_busy', sa.Boolean(), nullable=False),
    sa.Column('is_target', sa.Boolean(), nullable=False),
    sa.Column('created_at', webapp.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_connection_calendars_account_id_accounts')),
    sa.ForeignKeyConstraint(['connection_id'], ['calendar_connections.id'], name=op.f('fk_connection_calendars_connection_id_calendar_connections'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_connection_calendars')),
    sa.UniqueConstraint('connection_id', 'external_id', name=op.f('uq_connection_calendars_connection_id_external_id'))
    )
    with op.batch_alter_table('connection_calendars', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_connection_calendars_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_connection_calendars_connection_id'), ['connection_id'], unique=False)


def downgrade():
    op.drop_table('connection_calendars')
    with op.batch_alter_table('calendar_syncs', schema=None) as batch_op:
        batch_op.drop_column('calendar_ref')
    # Only the connection receiving meetings is kept: the unique comes back.
    op.execute(sa.text("DELETE FROM calendar_connections WHERE NOT receives_events"))
    with op.batch_alter_table('calendar_connections', schema=None) as batch_op:
        batch_op.drop_index('uq_calendar_connections_receiving')
        batch_op.drop_index(batch_op.f('ix_calendar_connections_user_id'))
        batch_op.create_unique_constraint('uq_calendar_connections_user_id', ['user_id'])
        batch_op.drop_column('receives_events')
