"""log a meeting (issue #20): meetings.log_only; the agenda's organizer index

Revision ID: 0015_20a
Revises: 0014
Create Date: 2026-12-03 13:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015_20a'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('log_only', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.create_index('ix_meetings_organizer_start',
                              ['account_id', 'organizer_id', 'start_at'], unique=False)


def downgrade():
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.drop_index('ix_meetings_organizer_start')
        batch_op.drop_column('log_only')
