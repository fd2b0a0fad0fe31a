"""the record timeline's index (#24): each meeting's start by its id, without its row

A record's timeline picks its page from the record's associations and each meeting's
start; on PostgreSQL this index answers that part by an index-only scan (INCLUDE), so the
page costs what the record's meetings cost, not the account's (docs/PERFORMANCE.md).

Revision ID: 0015_24
Revises: 0015_23
Create Date: 2026-12-03 13:40:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0015_24'
down_revision = '0015_23'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_meetings_timeline', 'meetings', ['id'], unique=False,
                    postgresql_include=['account_id', 'start_at', 'deleted_at'])


def downgrade():
    op.drop_index('ix_meetings_timeline', table_name='meetings')
