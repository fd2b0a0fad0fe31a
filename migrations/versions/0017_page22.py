"""embed_origins: the https origins allowed to frame an account's booking pages (#22)

Revision ID: 0017_page22
Revises: 0017_book22
Create Date: 2026-12-03 16:45:00.000000

"""
from alembic import op
import sqlalchemy as sa

import webapp.types


# revision identifiers, used by Alembic.
revision = '0017_page22'
down_revision = '0017_book22'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'embed_origins',
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('origins', sa.JSON(), nullable=False),
        sa.Column('updated_at', webapp.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id']),
        sa.PrimaryKeyConstraint('account_id'),
    )


def downgrade():
    op.drop_table('embed_origins')
