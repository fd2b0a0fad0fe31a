"""replies: the SEQUENCE an answer is for, and answers a reschedule reset (issue 19)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import webapp.types


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('attendees', schema=None) as batch_op:
        batch_op.add_column(sa.Column('response_sequence', sa.Integer(), nullable=True))
    op.create_table('earlier_replies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('response', sa.String(length=16), nullable=False),
    sa.Column('responded_at', webapp.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reset_at', webapp.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_earlier_replies_account_id_accounts')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_earlier_replies_meeting_id_meetings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_earlier_replies'))
    )
    with op.batch_alter_table('earlier_replies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_earlier_replies_meeting_id'), ['meeting_id'], unique=False)


def downgrade():
    with op.batch_alter_table('earlier_replies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_earlier_replies_meeting_id'))
    op.drop_table('earlier_replies')
    with op.batch_alter_table('attendees', schema=None) as batch_op:
        batch_op.drop_column('response_sequence')
