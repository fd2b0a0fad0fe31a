"""security (issue #18): server-side sessions, login throttles, hashed feed tokens,
captured mail per account, API idempotency keys

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 10:00:00.000000

"""
import hashlib
import secrets

from alembic import op
import sqlalchemy as sa

import webapp.types


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
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


    op.create_table('api_idempotency_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('created_at', webapp.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_api_idempotency_keys_account_id_accounts')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_api_idempotency_keys_meeting_id_meetings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_idempotency_keys')),
    sa.UniqueConstraint('account_id', 'key', name=op.f('uq_api_idempotency_keys_account_id_key'))
    )
    # Feed tokens are stored hashed: existing subscriptions keep working (their URL's
    # secret hashes to the stored value), the URL is shown again only when remade.
    conn = op.get_bind()
    users = sa.table('users', sa.column('id', sa.Integer), sa.column('feed_token', sa.String))
    for user_id, token in conn.execute(sa.select(users.c.id, users.c.feed_token)).all():
        conn.execute(users.update().where(users.c.id == user_id).values(
            feed_token=hashlib.sha256(token.encode()).hexdigest()))
    with op.batch_alter_table('captured_mails', schema=None) as batch_op:
        batch_op.add_column(sa.Column('account_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_captured_mails_account_id'), ['account_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_captured_mails_account_id_accounts'), 'accounts', ['account_id'], ['id'])


def downgrade():
    op.drop_table('api_idempotency_keys')
    with op.batch_alter_table('captured_mails', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_captured_mails_account_id_accounts'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_captured_mails_account_id'))
        batch_op.drop_column('account_id')
    # The feed secrets cannot be recovered from their hashes: every user gets a new one.
    conn = op.get_bind()
    users = sa.table('users', sa.column('id', sa.Integer), sa.column('feed_token', sa.String))
    for (user_id,) in conn.execute(sa.select(users.c.id)).all():
        conn.execute(users.update().where(users.c.id == user_id).values(
            feed_token=secrets.token_urlsafe(32)))
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
