"""security (issue #18): server-side sessions, login throttles

Revision ID: 0013s18
Revises: 0012
Create Date: 2026-12-03 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import webapp.types


# revision identifiers, used by Alembic.
revision = '0013s18'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('user_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', webapp.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', webapp.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_user_sessions_token_hash'))
    )
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_sessions_user_id'), ['user_id'], unique=False)
    # Failed logins were rows per attempt; a row per key now (webapp/auth/models.py).
    op.drop_table('login_attempts')
    op.create_table('login_throttles',
    sa.Column('key', sa.String(length=300), nullable=False),
    sa.Column('tries', sa.Integer(), nullable=False),
    sa.Column('next_allowed_at', webapp.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', webapp.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_login_throttles'))
    )


def downgrade():
    op.drop_table('login_throttles')
    op.create_table('login_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=300), nullable=False),
    sa.Column('at', webapp.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_attempts'))
    )
    op.create_index('ix_login_attempts_key_at', 'login_attempts', ['key', 'at'], unique=False)
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_sessions_user_id'))
    op.drop_table('user_sessions')
