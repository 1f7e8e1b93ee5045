"""the customer's online sign-off of a visit's work report

Revision ID: 13c1signoff
Revises: 15d1auditlog
Create Date: 2026-12-06 18:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '13c1signoff'
down_revision = "15d1auditlog"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('dispatch', schema=None) as batch_op:
        batch_op.add_column(sa.Column('customer_signoff_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('customer_signoff_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('customer_signoff_label', sa.String(length=254),
                                      server_default='', nullable=False))
        batch_op.add_column(sa.Column('customer_signoff_comment', sa.String(length=1000),
                                      server_default='', nullable=False))
        batch_op.create_foreign_key(batch_op.f('fk_dispatch_customer_signoff_by_id_user'),
                                    'user', ['customer_signoff_by_id'], ['id'])


def downgrade():
    with op.batch_alter_table('dispatch', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_dispatch_customer_signoff_by_id_user'),
                                 type_='foreignkey')
        batch_op.drop_column('customer_signoff_comment')
        batch_op.drop_column('customer_signoff_label')
        batch_op.drop_column('customer_signoff_by_id')
        batch_op.drop_column('customer_signoff_at')
