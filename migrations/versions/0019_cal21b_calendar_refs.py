"""calendar_sync_states.token_calendar and calendar_tokens: the inbound sync reads every
calendar of a connection that holds Parley's events, each with its own sync token (#21);
calendar_syncs.calendar_ref filled for rows written before it was kept for every provider

Revision ID: 0019_cal21b
Revises: 0018_left20_guest_changes
Create Date: 2026-12-03 19:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019_cal21b'
down_revision = '0018_left20_guest_changes'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('calendar_sync_states', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_calendar', sa.String(length=1024), nullable=True))
        batch_op.add_column(sa.Column('calendar_tokens', sa.JSON(), nullable=True))
    # Events written before the calendar was kept live where the connection wrote then:
    # Google "primary", Graph the default calendar, CalDAV its calendar collection.
    op.execute("UPDATE calendar_syncs SET calendar_ref = 'primary' WHERE calendar_ref IS NULL "
               "AND provider = 'google' AND external_id IS NOT NULL")
    op.execute("UPDATE calendar_syncs SET calendar_ref = 'default' WHERE calendar_ref IS NULL "
               "AND provider = 'microsoft' AND external_id IS NOT NULL")
    op.execute("UPDATE calendar_syncs SET calendar_ref = (SELECT c.caldav_calendar_url FROM "
               "calendar_connections c WHERE c.id = calendar_syncs.connection_id) WHERE "
               "calendar_ref IS NULL AND provider = 'caldav' AND external_id IS NOT NULL")


def downgrade():
    with op.batch_alter_table('calendar_sync_states', schema=None) as batch_op:
        batch_op.drop_column('calendar_tokens')
        batch_op.drop_column('token_calendar')
