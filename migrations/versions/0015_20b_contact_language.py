"""contacts: the language of the emails a contact receives; meetings: a switch that hides
the guest list from invitations (issue #20)

Revision ID: 0015_20b
Revises: 0015_23
Create Date: 2026-12-03 13:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015_20b'
down_revision = '0015_21'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=16), nullable=True))
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hide_guest_list', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.drop_column('hide_guest_list')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_column('language')
