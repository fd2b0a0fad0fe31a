"""scheduling pages and bookings (issue #22)

Revision ID: 0017_book22
Revises: 0016_cal21_calendars
Create Date: 2026-12-03 16:20:00.000000

"""
from alembic import op
import sqlalchemy as sa

import webapp.types


# revision identifiers, used by Alembic.
revision = '0017_book22'
down_revision = '0016_cal21_calendars'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'scheduling_pages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('slug', sa.String(length=80), nullable=False),
        sa.Column('durations', sa.JSON(), nullable=False),
        sa.Column('location_kind', sa.String(length=16), nullable=False),
        sa.Column('location_value', sa.String(length=500), nullable=True),
        sa.Column('questions', sa.JSON(), nullable=False),
        sa.Column('buffer_before_minutes', sa.Integer(), nullable=False),
        sa.Column('buffer_after_minutes', sa.Integer(), nullable=False),
        sa.Column('min_notice_minutes', sa.Integer(), nullable=False),
        sa.Column('horizon_days', sa.Integer(), nullable=False),
        sa.Column('max_per_day', sa.Integer(), nullable=True),
        sa.Column('slot_interval_minutes', sa.Integer(), nullable=False),
        sa.Column('meeting_type_id', sa.Integer(), nullable=True),
        sa.Column('reminders', sa.JSON(), nullable=True),
        sa.Column('rotation_id', sa.Integer(), nullable=True),
        sa.Column('host_ids', sa.JSON(), nullable=False),
        sa.Column('paused', sa.Boolean(), nullable=False),
        sa.Column('created_at', webapp.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', webapp.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id']),
        sa.ForeignKeyConstraint(['owner_id'], ['users.id']),
        sa.ForeignKeyConstraint(['meeting_type_id'], ['meeting_types.id']),
        sa.ForeignKeyConstraint(['rotation_id'], ['rotations.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('slug'),
    )
    op.create_index('ix_scheduling_pages_account_id', 'scheduling_pages', ['account_id'])
    op.create_index('ix_scheduling_pages_owner_id', 'scheduling_pages', ['owner_id'])
    op.create_table(
        'bookings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('page_id', sa.Integer(), nullable=False),
        sa.Column('meeting_id', sa.Integer(), nullable=False),
        sa.Column('contact_id', sa.Integer(), nullable=True),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('answers', sa.JSON(), nullable=False),
        sa.Column('timezone', sa.String(length=64), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('created_at', webapp.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', webapp.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id']),
        sa.ForeignKeyConstraint(['page_id'], ['scheduling_pages.id']),
        sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id']),
        sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    op.create_index('ix_bookings_account_id', 'bookings', ['account_id'])
    op.create_index('ix_bookings_page_id', 'bookings', ['page_id'])
    op.create_index('ix_bookings_meeting_id', 'bookings', ['meeting_id'])
    op.create_index('ix_bookings_contact_id', 'bookings', ['contact_id'])
    op.create_table(
        'booking_locks',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('bookings', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id'),
    )
    op.create_table(
        'booking_idempotency_keys',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('page_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('booking_id', sa.Integer(), nullable=False),
        sa.Column('created_at', webapp.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['page_id'], ['scheduling_pages.id']),
        sa.ForeignKeyConstraint(['booking_id'], ['bookings.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('page_id', 'key'),
    )


def downgrade():
    op.drop_table('booking_idempotency_keys')
    op.drop_table('booking_locks')
    op.drop_index('ix_bookings_contact_id', table_name='bookings')
    op.drop_index('ix_bookings_meeting_id', table_name='bookings')
    op.drop_index('ix_bookings_page_id', table_name='bookings')
    op.drop_index('ix_bookings_account_id', table_name='bookings')
    op.drop_table('bookings')
    op.drop_index('ix_scheduling_pages_owner_id', table_name='scheduling_pages')
    op.drop_index('ix_scheduling_pages_account_id', table_name='scheduling_pages')
    op.drop_table('scheduling_pages')
