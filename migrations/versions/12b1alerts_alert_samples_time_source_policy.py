"""alert samples, time source and users; refused line numbers; the contract's alert policy

Revision ID: 12b1alerts
Revises: 12a1senders
Create Date: 2026-12-06 18:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '12b1alerts'
down_revision = "12a1senders"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('samples', sa.JSON(), server_default='[]',
                                      nullable=False))
        batch_op.add_column(sa.Column('time_source', sa.String(length=32), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('users', sa.JSON(), server_default='[]',
                                      nullable=False))
    with op.batch_alter_table('rejected_payload', schema=None) as batch_op:
        batch_op.add_column(sa.Column('line', sa.Integer(), nullable=True))
    with op.batch_alter_table('contract', schema=None) as batch_op:
        batch_op.add_column(sa.Column('alert_policy', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('contract', schema=None) as batch_op:
        batch_op.drop_column('alert_policy')
    with op.batch_alter_table('rejected_payload', schema=None) as batch_op:
        batch_op.drop_column('line')
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_column('users')
        batch_op.drop_column('time_source')
        batch_op.drop_column('samples')
