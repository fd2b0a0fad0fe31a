"""meeting submissions: idempotency keys of the phone flow's "Continue and send"

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 19:10:00.000000

"""
from alembic import op
import sqlalchemy as sa

import webapp.types


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('meeting_submissions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=True),
    sa.Column('created_at', webapp.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_meeting_submissions_account_id_accounts')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_meeting_submissions_meeting_id_meetings')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_meeting_submissions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_submissions')),
    sa.UniqueConstraint('user_id', 'key', name=op.f('uq_meeting_submissions_user_id_key'))
    )
    with op.batch_alter_table('meeting_submissions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_submissions_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_submissions_meeting_id'), ['meeting_id'], unique=False)


def downgrade():
    with op.batch_alter_table('meeting_submissions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_submissions_meeting_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_submissions_account_id'))

    op.drop_table('meeting_submissions')
