"""meetings: where a meeting was made (scheduler, phone, API, scheduling page, proposed
times), for the reports by source (issue #22)

Revision ID: 0016_source
Revises: 0015_20b
Create Date: 2026-12-03 16:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016_source'
down_revision = '0015_20b'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=24), nullable=False,
                                      server_default='scheduler'))


def downgrade():
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.drop_column('source')
