"""signed audit-chain heads and the admin change log

Revision ID: 15d1auditlog
Revises: fe720d5af81b
Create Date: 2026-12-06 15:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '15d1auditlog'
down_revision = 'fe720d5af81b'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('audit_signature', sa.String(length=88),
                                      server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_column('audit_signature')
