"""session epoch of users, expiry of API tokens

Revision ID: 15a1sessions
Revises: fe720d5af81b
Create Date: 2026-12-06 15:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '15a1sessions'
down_revision = 'fe720d5af81b'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_epoch', sa.Integer(), server_default='0',
                                      nullable=False))

    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_column('expires_at')

    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('session_epoch')
