"""proposals: times a rep proposes to a contact, one signed link each (issue #22)

Revision ID: 0017_prop22
Revises: 0017_page22
Create Date: 2026-12-03 16:40:00.000000

"""
from alembic import op
import sqlalchemy as sa

from webapp.types import UTCDateTime


# revision identifiers, used by Alembic.
revision = '0017_prop22'
down_revision = '0017_page22'  # after the booking pages' tables
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'proposals',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), sa.ForeignKey('accounts.id'), nullable=False),
        sa.Column('record_type', sa.String(length=16), nullable=False),
        sa.Column('record_id', sa.Integer(), nullable=False),
        sa.Column('host_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
        sa.Column('organizer_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
        sa.Column('contact_id', sa.Integer(),
                  sa.ForeignKey('contacts.id', ondelete='CASCADE'), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('duration_minutes', sa.Integer(), nullable=False),
        sa.Column('timezone', sa.String(length=64), nullable=False),
        sa.Column('location_kind', sa.String(length=16), nullable=False),
        sa.Column('location_value', sa.String(length=500), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('expires_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('nonce', sa.String(length=32), nullable=False),
        sa.Column('meeting_id', sa.Integer(), sa.ForeignKey('meetings.id'), nullable=True),
        sa.Column('booked_slot_id', sa.Integer(), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('booked_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('email_status', sa.String(length=16), nullable=False),
        sa.Column('email_attempts', sa.Integer(), nullable=False),
        sa.Column('email_next_attempt_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('email_claimed_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('emailed_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('email_error', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_proposals_account_id', 'proposals', ['account_id'])
    op.create_index('ix_proposals_contact_id', 'proposals', ['contact_id'])
    op.create_index('ix_proposals_record', 'proposals',
                    ['account_id', 'record_type', 'record_id'])
    op.create_index('ix_proposals_email_pending', 'proposals', ['email_next_attempt_at'],
                    postgresql_where=sa.text("email_status = 'pending'"),
                    sqlite_where=sa.text("email_status = 'pending'"))
    op.create_table(
        'proposed_slots',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('proposal_id', sa.Integer(),
                  sa.ForeignKey('proposals.id', ondelete='CASCADE'), nullable=False),
        sa.Column('start_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    op.create_index('ix_proposed_slots_proposal_id', 'proposed_slots', ['proposal_id'])


def downgrade():
    op.drop_index('ix_proposed_slots_proposal_id', table_name='proposed_slots')
    op.drop_table('proposed_slots')
    op.drop_index('ix_proposals_email_pending', table_name='proposals')
    op.drop_index('ix_proposals_record', table_name='proposals')
    op.drop_index('ix_proposals_contact_id', table_name='proposals')
    op.drop_index('ix_proposals_account_id', table_name='proposals')
    op.drop_table('proposals')
