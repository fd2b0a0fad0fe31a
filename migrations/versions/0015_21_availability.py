"""availability (issue #21): working hours and booking rules per user, the account's
default hours, rotation weights, head starts and the pick ledger

Revision ID: 0015_21
Revises: 0015_23 (chained after main's #20a and #23 when main was merged in)
Create Date: 2026-12-03 13:10:00.000000

"""
from alembic import op
import sqlalchemy as sa

import webapp.types


# revision identifiers, used by Alembic.
revision = '0015_21'
down_revision = '0015_24'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('availability_profiles',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('working_hours', sa.JSON(), nullable=True),
    sa.Column('buffer_before_minutes', sa.Integer(), nullable=False),
    sa.Column('buffer_after_minutes', sa.Integer(), nullable=False),
    sa.Column('min_notice_minutes', sa.Integer(), nullable=False),
    sa.Column('horizon_days', sa.Integer(), nullable=True),
    sa.Column('max_per_day', sa.Integer(), nullable=True),
    sa.Column('updated_at', webapp.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_availability_profiles_account_id_accounts')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_availability_profiles_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_availability_profiles'))
    )
    with op.batch_alter_table('availability_profiles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_availability_profiles_account_id'), ['account_id'], unique=False)
    op.create_table('account_availability',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('working_hours', sa.JSON(), nullable=False),
    sa.Column('updated_at', webapp.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_account_availability_account_id_accounts')),
    sa.PrimaryKeyConstraint('account_id', name=op.f('pk_account_availability'))
    )
    with op.batch_alter_table('rotation_members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('weight', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('head_start', sa.Integer(), server_default='0', nullable=False))
    op.create_table('rotation_picks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('rotation_id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('created_at', webapp.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_rotation_picks_account_id_accounts')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_rotation_picks_meeting_id_meetings'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['rotation_id'], ['rotations.id'], name=op.f('fk_rotation_picks_rotation_id_rotations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_rotation_picks_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rotation_picks'))
    )
    with op.batch_alter_table('rotation_picks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rotation_picks_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rotation_picks_meeting_id'), ['meeting_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rotation_picks_rotation_id'), ['rotation_id'], unique=False)


def downgrade():
    with op.batch_alter_table('rotation_picks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rotation_picks_rotation_id'))
        batch_op.drop_index(batch_op.f('ix_rotation_picks_meeting_id'))
        batch_op.drop_index(batch_op.f('ix_rotation_picks_account_id'))
    op.drop_table('rotation_picks')
    with op.batch_alter_table('rotation_members', schema=None) as batch_op:
        batch_op.drop_column('head_start')
        batch_op.drop_column('weight')
    op.drop_table('account_availability')
    with op.batch_alter_table('availability_profiles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_availability_profiles_account_id'))
    op.drop_table('availability_profiles')
