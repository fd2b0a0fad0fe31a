"""outbox_messages.guest_changes: who an update says was added to or removed from the
meeting's guest list (issue #20)

Revision ID: 0018_left20_guest_changes
Revises: 0017_prop22
Create Date: 2026-12-03 16:15:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018_left20_guest_changes'
down_revision = '0017_prop22'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('guest_changes', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_column('guest_changes')
