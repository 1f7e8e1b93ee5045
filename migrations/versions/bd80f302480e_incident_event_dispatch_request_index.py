"""incident event: partial index of the dispatch requests (the board's request times)

The dispatcher's board sorts every incident in a board state by when dispatch was last
requested, a max() over its request_dispatch events: with this index one probe each instead
of reading all of an incident's events. Built CONCURRENTLY on PostgreSQL, so that a large
live timeline keeps taking events while it builds.

Revision ID: bd80f302480e
Revises: fb73bbb721f7
Create Date: 2026-11-26 01:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'bd80f302480e'
down_revision = 'fb73bbb721f7'
branch_labels = None
depends_on = None

NAME = 'ix_incident_event_dispatch_request'
WHERE = sa.text("trigger = 'request_dispatch'")


def upgrade():
    with op.get_context().autocommit_block():
        op.create_index(NAME, 'incident_event', ['incident_id', 'occurred_at'], unique=False,
                        postgresql_where=WHERE, sqlite_where=WHERE,
                        postgresql_concurrently=True)


def downgrade():
    with op.get_context().autocommit_block():
        op.drop_index(NAME, table_name='incident_event', postgresql_concurrently=True)
