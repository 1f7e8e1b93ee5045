"""syslog senders bound to ingest keys, the key's default sensor name and TLS client
certificate fingerprint

Revision ID: 12a1senders
Revises: 13a1correct
Create Date: 2026-12-06 18:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '12a1senders'
down_revision = "13a1correct"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('ingest_key', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sensor', sa.String(length=200), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('cert_fingerprint', sa.String(length=64), nullable=True))

    op.create_table('ingest_sender',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ingest_key_id', sa.Integer(), nullable=False),
    sa.Column('network', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['ingest_key_id'], ['ingest_key.id'],
                            name=op.f('fk_ingest_sender_ingest_key_id_ingest_key')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ingest_sender'))
    )
    with op.batch_alter_table('ingest_sender', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ingest_sender_ingest_key_id'), ['ingest_key_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('ingest_sender', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ingest_sender_ingest_key_id'))

    op.drop_table('ingest_sender')
    with op.batch_alter_table('ingest_key', schema=None) as batch_op:
        batch_op.drop_column('cert_fingerprint')
        batch_op.drop_column('sensor')
