"""meeting outcomes: each account's list (O1, O2), seeded with the defaults

Revision ID: 0009
Revises: 0003
Create Date: 2026-11-23 21:07:51.538734

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0004'
branch_labels = None
depends_on = None

#: The keys meetings already store (webapp.meetings.models.DEFAULT_OUTCOMES at 0009).
DEFAULTS = ("scheduled", "completed", "rescheduled", "no_show", "canceled")


def upgrade():
    op.create_table('meeting_outcomes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_meeting_outcomes_account_id_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_outcomes')),
    sa.UniqueConstraint('account_id', 'key', name=op.f('uq_meeting_outcomes_account_id_key'))
    )
    with op.batch_alter_table('meeting_outcomes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_outcomes_account_id'), ['account_id'], unique=False)

    # Accounts created before this revision get the defaults; new ones get them on insert.
    for position, key in enumerate(DEFAULTS):
        op.execute(sa.text(
            "INSERT INTO meeting_outcomes (account_id, key, name, position, active) "
            "SELECT id, :key, NULL, :position, :active FROM accounts")
            .bindparams(key=key, position=position, active=True))


def downgrade():
    with op.batch_alter_table('meeting_outcomes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_outcomes_account_id'))

    op.drop_table('meeting_outcomes')
