"""calls to the desk number, for the screen pop

Revision ID: 13b1calls
Revises: 13c1signoff
Create Date: 2026-12-06 18:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '13b1calls'
down_revision = "13c1signoff"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('phone_call',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_sid', sa.String(length=64), nullable=False),
    sa.Column('from_number', sa.String(length=32), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=True),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'],
                            name=op.f('fk_phone_call_incident_id_incident')),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'],
                            name=op.f('fk_phone_call_organization_id_organization')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_phone_call')),
    sa.UniqueConstraint('call_sid', name=op.f('uq_phone_call_call_sid'))
    )
    with op.batch_alter_table('phone_call', schema=None) as batch_op:
        batch_op.create_index('ix_phone_call_open', ['ended_at', 'started_at'], unique=False)


def downgrade():
    with op.batch_alter_table('phone_call', schema=None) as batch_op:
        batch_op.drop_index('ix_phone_call_open')

    op.drop_table('phone_call')
